//! Catch-up: the events missed since the newest stored one, fetched from the Events API and
//! stored like webhooks (the background jobs run it on start, every 15 min and after a wake:
//! `crate::jobs`).

use serde::Serialize;
use serde_json::Value;

use super::lookup::lookup_customers_with;
use super::{client, link_pending, selected_events, store_events, Counts};
use crate::context::Context;
use crate::domain::processors::ProcessorKind;
use crate::error::{Error, Result};
use crate::secrets::{HashKey, SecretKind};
use crate::store::{processors as pq, stripe_sync as q, Db};
use crate::stripe::client::Client;
use crate::time::now_ms;

/// Catch-up starts this long before the newest stored event (clock skew, late commits).
pub const CATCHUP_MARGIN_MS: i64 = 60 * 60 * 1000;
/// Stripe keeps events for 30 days.
pub const MAX_LOOKBACK_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// Fetches the events missed since the newest stored one (minus a margin, 30 days at most)
/// and stores them; then links them, fetches thin events' payloads and looks up customers
/// never seen.
pub fn catch_up(ctx: &Context, id: i64) -> Result<Counts> {
    let client = client(ctx, id)?;
    let key = ctx.keychain.hash_key()?;
    let counts = catch_up_with(&ctx.db, &client, Some(&key), id, &selected_events(ctx, id)?)?;
    link_pending(&ctx.db)?;
    // Thin events still waiting (their fetch on arrival failed, or nothing ran since); first,
    // since the objects fetched may name customers to look up.
    if let Err(e) = super::fetch_thin_events(ctx, id) {
        tracing::warn!(processor = id, error = %e, "fetching thin events after catch-up failed");
    }
    if let Err(e) = lookup_customers_with(&ctx.db, &client, id) {
        tracing::warn!(processor = id, error = %e, "customer lookup after catch-up failed");
    }
    Ok(counts)
}

/// The catch-up itself, without linking (the benchmark measures this).
pub fn catch_up_with(
    db: &Db,
    client: &Client,
    replay_key: Option<&HashKey>,
    id: i64,
    types: &[String],
) -> Result<Counts> {
    let newest = db.read(|c| q::newest_event_at(c, id))?;
    let pending = db.read(|c| q::catchup_pending_since(c, id))?;
    let since = catch_up_since(now_ms(), newest, pending);
    db.write(move |c| q::catchup_started(c, id, since))?;

    let mut params = vec![("created[gte]".to_owned(), (since / 1000).to_string())];
    if types.len() <= 20 {
        for t in types {
            params.push(("types[]".into(), t.clone()));
        }
    }
    let mut counts = Counts::default();
    client.list_pages::<Error>("/v1/events", &params, None, |page| {
        let wanted: Vec<Value> = page
            .data
            .iter()
            .filter(|e| {
                types.len() <= 20
                    || e.get("type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| types.iter().any(|x| x == t))
            })
            .cloned()
            .collect();
        store_events(db, replay_key, id, &wanted, &mut counts)?;
        Ok(true)
    })?;
    let c3 = (counts.fetched, counts.new, counts.duplicates);
    db.write(move |c| q::catchup_finished(c, id, now_ms(), c3))?;
    Ok(counts)
}

/// Where a catch-up starts (unix ms): the newest stored event minus [`CATCHUP_MARGIN_MS`], or
/// the start of a catch-up that did not finish if that is earlier; never before Stripe's
/// 30 days (less a minute, so the bound is still inside them when Stripe gets the request).
fn catch_up_since(now: i64, newest: Option<i64>, pending: Option<i64>) -> i64 {
    let floor = now - MAX_LOOKBACK_MS + 60_000;
    let mut since = newest.map(|t| t - CATCHUP_MARGIN_MS).unwrap_or(floor);
    if let Some(p) = pending {
        since = since.min(p);
    }
    since.max(floor)
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CatchUpStatus {
    pub last_run_at: Option<String>,
    pub fetched: i64,
    pub new: i64,
    pub duplicates: i64,
}

/// The last catch-up's counts, for the dashboard.
pub fn last_catch_up(ctx: &Context, id: i64) -> Result<CatchUpStatus> {
    let r = ctx.db.read(|c| q::last_catchup(c, id))?;
    Ok(match r {
        Some((at, f, n, d)) => CatchUpStatus {
            last_run_at: Some(crate::time::to_rfc3339(at)),
            fetched: f,
            new: n,
            duplicates: d,
        },
        None => CatchUpStatus {
            last_run_at: None,
            fetched: 0,
            new: 0,
            duplicates: 0,
        },
    })
}

/// Catches up every Stripe processor that has an API key. Processors without one are skipped
/// (they only receive webhooks). Returns each processor's outcome.
pub fn catch_up_all(ctx: &Context) -> Vec<(i64, Result<Counts>)> {
    let ids: Vec<i64> = match ctx.db.read(pq::list) {
        Ok(rows) => rows
            .into_iter()
            .filter(|p| p.kind == ProcessorKind::Stripe)
            .map(|p| p.id)
            .collect(),
        Err(e) => return vec![(0, Err(e))],
    };
    ids.into_iter()
        .filter(|id| matches!(ctx.keychain.get(*id, SecretKind::ApiKey), Ok(Some(_))))
        .map(|id| (id, catch_up(ctx, id)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fake::{self, Fake};
    use super::super::DEFAULT_EVENTS;
    use super::*;

    const NOW: i64 = 1_750_000_000_000;
    const FLOOR: i64 = NOW - MAX_LOOKBACK_MS + 60_000;

    #[test]
    fn catch_up_starts_a_margin_before_the_newest_event_within_stripes_30_days() {
        // Nothing stored: as far back as Stripe keeps events.
        assert_eq!(catch_up_since(NOW, None, None), FLOOR);
        // After the newest event, less the margin.
        let newest = NOW - 5 * 60_000;
        assert_eq!(
            catch_up_since(NOW, Some(newest), None),
            newest - CATCHUP_MARGIN_MS
        );
        // An unfinished catch-up that started earlier is resumed from its start…
        let pending = newest - 3 * CATCHUP_MARGIN_MS;
        assert_eq!(catch_up_since(NOW, Some(newest), Some(pending)), pending);
        // …but a later one does not move the start forward.
        assert_eq!(
            catch_up_since(NOW, Some(newest), Some(newest)),
            newest - CATCHUP_MARGIN_MS
        );
        // Never before the floor, however old the newest event or the pending run.
        assert_eq!(catch_up_since(NOW, Some(FLOOR - 1), None), FLOOR);
        assert_eq!(catch_up_since(NOW, None, Some(0)), FLOOR);
    }

    fn event(id: &str, kind: &str, created_s: i64) -> Value {
        serde_json::json!({"id": id, "object": "event", "type": kind, "created": created_s,
            "livemode": false,
            "data": {"object": {"id": "cus_1", "object": "customer"}}})
    }

    #[test]
    fn catch_up_asks_for_the_types_or_filters_them_itself_beyond_twenty() {
        let created = now_ms() / 1000 - 600;
        let fake = Fake::start(move |r| match r.path.as_str() {
            "/v1/events" => (
                200,
                serde_json::json!({"object": "list", "has_more": false, "data": [
                    event("evt_1", "customer.created", created),
                    event("evt_2", "charge.succeeded", created),
                ]}),
            ),
            _ => fake::error(404),
        });
        let (client, (_tmp, db, id)) = (fake.client(), fake::db_with_processor());

        // Twenty types or fewer: Stripe filters (the fake does not, so both are stored).
        let types: Vec<String> = DEFAULT_EVENTS.iter().map(|s| s.to_string()).collect();
        let c = catch_up_with(&db, &client, None, id, &types).unwrap();
        assert_eq!((c.fetched, c.new), (2, 2));
        let first = &fake.requests()[0];
        let asked: Vec<&str> = first
            .query
            .iter()
            .filter(|(k, _)| k == "types[]")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(asked, DEFAULT_EVENTS);
        // Nothing was stored before: from the floor (30 days less a minute).
        let gte: i64 = first.param("created[gte]").unwrap().parse().unwrap();
        let floor_s = (now_ms() - MAX_LOOKBACK_MS + 60_000) / 1000;
        assert!((floor_s - 5..=floor_s).contains(&gte), "{gte} vs {floor_s}");

        // More than twenty: no `types[]`, and only the wanted types are stored.
        let mut many: Vec<String> = (0..20).map(|i| format!("x.{i}")).collect();
        many.push("customer.created".into());
        let c = catch_up_with(&db, &client, None, id, &many).unwrap();
        assert_eq!((c.fetched, c.new, c.duplicates), (1, 0, 1));
        let second = &fake.requests()[1];
        assert!(second.param("types[]").is_none());
        // After the newest stored event, less the margin.
        let gte: i64 = second.param("created[gte]").unwrap().parse().unwrap();
        assert_eq!(gte, (created * 1000 - CATCHUP_MARGIN_MS) / 1000);
        let status = db.read(|c| q::last_catchup(c, id)).unwrap().unwrap();
        assert_eq!((status.1, status.2, status.3), (1, 0, 1));
    }
}
