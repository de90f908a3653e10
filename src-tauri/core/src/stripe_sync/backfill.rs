//! Backfill: historical objects imported as synthetic events, resuming from the cursor a
//! previous run left.

use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use serde_json::Value;

use super::{client, import_envelope, link_pending, store_events, Counts};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::store::{stripe_sync as q, Db};
use crate::stripe::client::Client;
use crate::time::now_ms;

/// What a backfill can import.
pub const RESOURCES: &[&str] = &[
    "customers",
    "charges",
    "payment_intents",
    "invoices",
    "subscriptions",
];

fn resource_params(resource: &str) -> Vec<(String, String)> {
    if resource == "subscriptions" {
        vec![("status".into(), "all".into())]
    } else {
        Vec::new()
    }
}

/// Parses `customers,charges,…`.
pub fn parse_resources(list: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for r in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !RESOURCES.contains(&r) {
            return Err(Error::invalid(format!(
                "unknown resource `{r}`: choose from {}",
                RESOURCES.join(", ")
            )));
        }
        if !out.iter().any(|x| x == r) {
            out.push(r.to_owned());
        }
    }
    if out.is_empty() {
        return Err(Error::invalid("name at least one resource to backfill"));
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct BackfillProgress {
    pub resource: String,
    /// Objects imported so far for this resource, across runs.
    pub imported: i64,
    pub pages: u64,
    pub done: bool,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ResourceReport {
    pub resource: String,
    pub fetched: u64,
    pub new: u64,
    pub duplicates: u64,
    /// Across every run of this backfill.
    pub imported_total: i64,
    pub done: bool,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct BackfillReport {
    pub resources: Vec<ResourceReport>,
    pub cancelled: bool,
}

/// Imports historical objects, resuming from the cursor a previous run left. A resource that
/// finished before is skipped unless `restart`. `cancel` is checked between pages.
pub fn backfill(
    ctx: &Context,
    id: i64,
    resources: &[String],
    restart: bool,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(&BackfillProgress),
) -> Result<BackfillReport> {
    backfill_with(
        &ctx.db,
        &client(ctx, id)?,
        id,
        resources,
        restart,
        cancel,
        progress,
    )
}

fn backfill_with(
    db: &Db,
    client: &Client,
    id: i64,
    resources: &[String],
    restart: bool,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(&BackfillProgress),
) -> Result<BackfillReport> {
    let mut report = BackfillReport {
        resources: Vec::new(),
        cancelled: false,
    };
    for resource in resources {
        let res = resource.clone();
        let mut state = db.read(|c| q::backfill_state(c, id, &res))?;
        if restart {
            state = q::BackfillState::default();
        }
        let mut counts = Counts::default();
        if !state.done {
            let mut pages = 0u64;
            client.list_pages::<Error>(
                &format!("/v1/{resource}"),
                &resource_params(resource),
                state.cursor.clone(),
                |page| {
                    let events: Vec<Value> = page.data.iter().filter_map(import_envelope).collect();
                    store_events(db, None, id, &events, &mut counts)?;
                    pages += 1;
                    state.imported += page.data.len() as i64;
                    if let Some(last) = page.last_id() {
                        state.cursor = Some(last.to_owned());
                    }
                    state.done = !page.has_more;
                    let (r2, st) = (res.clone(), state.clone());
                    db.write(move |c| q::set_backfill_state(c, id, &r2, &st, now_ms()))?;
                    progress(&BackfillProgress {
                        resource: res.clone(),
                        imported: state.imported,
                        pages,
                        done: state.done,
                    });
                    Ok(!cancel.load(Ordering::SeqCst))
                },
            )?;
            link_pending(db)?;
        }
        report.resources.push(ResourceReport {
            resource: resource.clone(),
            fetched: counts.fetched,
            new: counts.new,
            duplicates: counts.duplicates,
            imported_total: state.imported,
            done: state.done,
        });
        if cancel.load(Ordering::SeqCst) && !state.done {
            report.cancelled = true;
            break;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::super::fake::{self, Fake};
    use super::*;

    #[test]
    fn resource_lists_are_trimmed_deduplicated_and_checked() {
        assert_eq!(
            parse_resources(" customers, charges,,customers ").unwrap(),
            ["customers", "charges"]
        );
        assert_eq!(parse_resources(&RESOURCES.join(",")).unwrap(), RESOURCES);
        for bad in [
            "",
            " , ",
            "customers,refunds",
            "Customers",
            "customers;charges",
        ] {
            assert!(
                matches!(parse_resources(bad), Err(Error::InvalidInput(_))),
                "{bad:?}"
            );
        }
        let e = parse_resources("customers,refunds")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`refunds`") && e.contains("payment_intents"),
            "{e}"
        );
    }

    #[test]
    fn only_subscriptions_are_listed_with_every_status() {
        assert_eq!(
            resource_params("subscriptions"),
            [("status".to_owned(), "all".to_owned())]
        );
        assert!(resource_params("customers").is_empty());
    }

    /// Five customers, two per page, after `starting_after`.
    fn five_customers() -> Fake {
        Fake::start(|r| {
            if r.path != "/v1/customers" {
                return fake::error(404);
            }
            let all: Vec<Value> = (1..=5)
                .map(|i| {
                    serde_json::json!({"id": format!("cus_{i}"), "object": "customer",
                                            "created": 1_700_000_000 + i})
                })
                .collect();
            let start = match r.param("starting_after") {
                Some(after) => all
                    .iter()
                    .position(|c| c["id"] == after)
                    .map_or(0, |p| p + 1),
                None => 0,
            };
            let page: Vec<Value> = all.iter().skip(start).take(2).cloned().collect();
            let has_more = start + page.len() < all.len();
            (
                200,
                serde_json::json!({"object": "list", "data": page, "has_more": has_more}),
            )
        })
    }

    #[test]
    fn a_cancelled_backfill_resumes_from_its_cursor_and_a_finished_one_is_skipped() {
        let fake = five_customers();
        let client = fake.client();
        let (_tmp, db, id) = fake::db_with_processor();
        let resources = vec!["customers".to_owned()];
        let cancel = AtomicBool::new(false);

        // Cancelled after the first page: its cursor is kept.
        let mut seen = Vec::new();
        let r = backfill_with(&db, &client, id, &resources, false, &cancel, &mut |p| {
            seen.push((p.imported, p.pages, p.done));
            cancel.store(true, Ordering::SeqCst);
        })
        .unwrap();
        assert!(r.cancelled);
        assert_eq!(seen, [(2, 1, false)]);
        let c = &r.resources[0];
        assert_eq!((c.new, c.imported_total, c.done), (2, 2, false));
        let st = db.read(|c| q::backfill_state(c, id, "customers")).unwrap();
        assert_eq!(
            (st.cursor.as_deref(), st.imported, st.done),
            (Some("cus_2"), 2, false)
        );

        // The next run starts after cus_2 and finishes.
        cancel.store(false, Ordering::SeqCst);
        let r = backfill_with(&db, &client, id, &resources, false, &cancel, &mut |_| {}).unwrap();
        assert!(!r.cancelled);
        let c = &r.resources[0];
        assert_eq!((c.fetched, c.new, c.duplicates), (3, 3, 0));
        assert_eq!((c.imported_total, c.done), (5, true));
        let after: Vec<Option<String>> = fake
            .requests()
            .iter()
            .map(|r| r.param("starting_after").map(str::to_owned))
            .collect();
        assert_eq!(after, [None, Some("cus_2".into()), Some("cus_4".into())]);

        // Done: skipped without a request, unless restarted (then all are duplicates).
        let r = backfill_with(&db, &client, id, &resources, false, &cancel, &mut |_| {}).unwrap();
        assert_eq!((r.resources[0].fetched, r.resources[0].done), (0, true));
        assert_eq!(fake.requests().len(), 3);
        let r = backfill_with(&db, &client, id, &resources, true, &cancel, &mut |_| {}).unwrap();
        let c = &r.resources[0];
        assert_eq!(
            (c.fetched, c.new, c.duplicates, c.imported_total),
            (5, 0, 5, 5)
        );
        assert_eq!(fake.requests()[3].param("starting_after"), None);
    }
}
