//! Catch-up: the events missed since the newest stored one, fetched from the Events API and
//! stored like webhooks; and the background loop (on start, every 15 min, after wake).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde_json::Value;

use super::lookup::lookup_customers_with;
use super::{client, link_pending, selected_events, store_events, Counts};
use crate::context::Context;
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
/// and stores them; then links them and looks up customers never seen.
pub fn catch_up(ctx: &Context, id: i64) -> Result<Counts> {
    let client = client(ctx, id)?;
    let key = ctx.keychain.hash_key()?;
    let counts = catch_up_with(&ctx.db, &client, Some(&key), id, &selected_events(ctx, id)?)?;
    link_pending(&ctx.db)?;
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
    let now = now_ms();
    let floor = now - MAX_LOOKBACK_MS + 60_000;
    let newest = db.read(|c| q::newest_event_at(c, id))?;
    let pending = db.read(|c| q::catchup_pending_since(c, id))?;
    let mut since = newest.map(|t| t - CATCHUP_MARGIN_MS).unwrap_or(floor);
    if let Some(p) = pending {
        since = since.min(p);
    }
    let since = since.max(floor);
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

/// How often the receiver catches up with Stripe while it runs.
pub const CATCH_UP_EVERY: Duration = Duration::from_secs(15 * 60);

/// Catches up every Stripe processor that has an API key. Processors without one are skipped
/// (they only receive webhooks). Returns each processor's outcome.
pub fn catch_up_all(ctx: &Context) -> Vec<(i64, Result<Counts>)> {
    let ids: Vec<i64> = match ctx.db.read(pq::list) {
        Ok(rows) => rows
            .into_iter()
            .filter(|p| p.kind == "stripe")
            .map(|p| p.id)
            .collect(),
        Err(e) => return vec![(0, Err(e))],
    };
    ids.into_iter()
        .filter(|id| matches!(ctx.keychain.get(*id, SecretKind::ApiKey), Ok(Some(_))))
        .map(|id| (id, catch_up(ctx, id)))
        .collect()
}

/// Catches up now, then every `every`, and at once after the computer wakes from sleep (the
/// wall clock jumps ahead of the monotonic one, which stops while suspended). Ends when `stop`
/// is set.
pub fn spawn_catch_up_loop(
    ctx: Context,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("catch-up".into())
        .spawn(move || {
            let tick = Duration::from_secs(1);
            loop {
                for (id, r) in catch_up_all(&ctx) {
                    match r {
                        Ok(c) => tracing::info!(
                            processor = id,
                            fetched = c.fetched,
                            new = c.new,
                            "caught up with Stripe"
                        ),
                        Err(e) => {
                            tracing::warn!(processor = id, error = %e, "catching up with Stripe failed")
                        }
                    }
                }
                let (mono, wall) = (Instant::now(), SystemTime::now());
                loop {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    std::thread::sleep(tick);
                    let slept = wall.elapsed().unwrap_or_default();
                    let woke = slept > mono.elapsed() + Duration::from_secs(60);
                    if woke || mono.elapsed() >= every {
                        break;
                    }
                }
            }
        })
        .expect("spawn the catch-up thread")
}
