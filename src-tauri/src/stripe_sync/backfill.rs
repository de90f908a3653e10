//! Backfill: historical objects imported as synthetic events, resuming from the cursor a
//! previous run left.

use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use serde_json::Value;

use super::{client, import_envelope, link_pending, store_events, Counts};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::store::stripe_sync as q;
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
    let client = client(ctx, id)?;
    let db = &ctx.db;
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
