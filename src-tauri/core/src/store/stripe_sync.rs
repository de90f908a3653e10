//! Queries for the Stripe API integration: registered webhook endpoints, backfill cursors,
//! catch-up state, and the events that need an API call (thin events, unknown customers).

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Result;

/// Synthetic events made from an API object (backfill, customer lookup) have this id prefix.
pub(crate) const IMPORT_PREFIX: &str = "import_";

#[derive(Debug, Clone)]
pub struct WebhookEndpoint {
    pub stripe_endpoint_id: String,
    pub base_url: String,
}

pub fn webhook_endpoint(conn: &Connection, processor_id: i64) -> Result<Option<WebhookEndpoint>> {
    Ok(conn
        .query_row(
            "SELECT stripe_endpoint_id, base_url FROM stripe_webhook_endpoints
             WHERE processor_id = ?1",
            [processor_id],
            |r| {
                Ok(WebhookEndpoint {
                    stripe_endpoint_id: r.get(0)?,
                    base_url: r.get(1)?,
                })
            },
        )
        .optional()?)
}

pub(crate) fn set_webhook_endpoint(
    conn: &Connection,
    processor_id: i64,
    stripe_endpoint_id: &str,
    base_url: &str,
    livemode: Option<bool>,
    now: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO stripe_webhook_endpoints
             (processor_id, stripe_endpoint_id, base_url, livemode, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT (processor_id) DO UPDATE SET stripe_endpoint_id = excluded.stripe_endpoint_id,
             base_url = excluded.base_url, livemode = excluded.livemode,
             updated_at = excluded.updated_at",
        params![processor_id, stripe_endpoint_id, base_url, livemode, now],
    )?;
    Ok(())
}

pub(crate) fn delete_webhook_endpoint(conn: &Connection, processor_id: i64) -> Result<()> {
    conn.execute(
        "DELETE FROM stripe_webhook_endpoints WHERE processor_id = ?1",
        [processor_id],
    )?;
    Ok(())
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BackfillState {
    pub cursor: Option<String>,
    pub imported: i64,
    pub done: bool,
}

pub(crate) fn backfill_state(
    conn: &Connection,
    processor_id: i64,
    resource: &str,
) -> Result<BackfillState> {
    Ok(conn
        .query_row(
            "SELECT cursor, imported, done FROM stripe_backfill
             WHERE processor_id = ?1 AND resource = ?2",
            params![processor_id, resource],
            |r| {
                Ok(BackfillState {
                    cursor: r.get(0)?,
                    imported: r.get(1)?,
                    done: r.get(2)?,
                })
            },
        )
        .optional()?
        .unwrap_or_default())
}

pub(crate) fn set_backfill_state(
    conn: &Connection,
    processor_id: i64,
    resource: &str,
    s: &BackfillState,
    now: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO stripe_backfill (processor_id, resource, cursor, imported, done, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (processor_id, resource) DO UPDATE SET cursor = excluded.cursor,
             imported = excluded.imported, done = excluded.done, updated_at = excluded.updated_at",
        params![processor_id, resource, s.cursor, s.imported, s.done, now],
    )?;
    Ok(())
}

/// The `created` time (unix ms) of the newest real Stripe event stored for this processor
/// (imports from the API do not count: they are not events).
pub(crate) fn newest_event_at(conn: &Connection, processor_id: i64) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(NEWEST_EVENT)?
        .query_row([processor_id], |r| r.get(0))
        .optional()?)
}

/// [`newest_event_at`]'s query: from the newest event back, until one is the processor's own
/// Stripe event (usually the first; every event only when it has none, as after a backfill
/// alone). `max(occurred_at)` with the same condition read every event of the processor
/// each time (1.6 s at a million events).
pub(super) const NEWEST_EVENT: &str = "SELECT occurred_at FROM events INDEXED BY events_by_time
     WHERE processor_id = ?1 AND substr(event_id, 1, 4) = 'evt_'
     ORDER BY occurred_at DESC LIMIT 1";

/// The start of an interrupted catch-up's window, if one is unfinished.
pub(crate) fn catchup_pending_since(conn: &Connection, processor_id: i64) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT pending_since FROM stripe_catchup WHERE processor_id = ?1",
            [processor_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

pub(crate) fn catchup_started(conn: &Connection, processor_id: i64, since: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO stripe_catchup (processor_id, pending_since) VALUES (?1, ?2)
         ON CONFLICT (processor_id) DO UPDATE SET pending_since = excluded.pending_since",
        params![processor_id, since],
    )?;
    Ok(())
}

pub(crate) fn catchup_finished(
    conn: &Connection,
    processor_id: i64,
    now: i64,
    counts: (u64, u64, u64),
) -> Result<()> {
    conn.execute(
        "INSERT INTO stripe_catchup (processor_id, pending_since, last_run_at, last_fetched,
             last_new, last_duplicates)
         VALUES (?1, NULL, ?2, ?3, ?4, ?5)
         ON CONFLICT (processor_id) DO UPDATE SET pending_since = NULL,
             last_run_at = excluded.last_run_at, last_fetched = excluded.last_fetched,
             last_new = excluded.last_new, last_duplicates = excluded.last_duplicates",
        params![
            processor_id,
            now,
            counts.0 as i64,
            counts.1 as i64,
            counts.2 as i64
        ],
    )?;
    Ok(())
}

/// The last finished catch-up: (when, fetched, new, duplicates).
pub(crate) fn last_catchup(
    conn: &Connection,
    processor_id: i64,
) -> Result<Option<(i64, i64, i64, i64)>> {
    Ok(conn
        .query_row(
            "SELECT last_run_at, last_fetched, last_new, last_duplicates FROM stripe_catchup
             WHERE processor_id = ?1 AND last_run_at IS NOT NULL",
            [processor_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?)
}

/// The two queries the Stripe job runs at each nudge (a thin event stored, an event left
/// waiting for its customer), which the Dashboard runs too (their plans are checked in
/// `store/events.rs`'s tests). Each is pinned to the index of its status: left
/// to the planner, whose statistics say only how many statuses there are, not that these are
/// rare, they read every event of the processor (by `events_by_processor` or
/// `events_by_customer`) to find the few they want.
pub(super) const AWAITING_FETCH: &str = "SELECT id, event_id, event_type FROM events
     INDEXED BY events_to_process
     WHERE status IN ('pending', 'awaiting_fetch') AND status = 'awaiting_fetch'
       AND processor_id = ?1
     ORDER BY id LIMIT ?2";
pub(super) const UNKNOWN_CUSTOMERS: &str = "SELECT DISTINCT e.customer_ref FROM events e
     INDEXED BY events_by_status
     WHERE e.status = 'unlinked' AND e.processor_id = ?1 AND e.customer_ref IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM external_ids x
                       WHERE x.processor_id = e.processor_id AND x.external_id = e.customer_ref)
       AND NOT EXISTS (SELECT 1 FROM events i
                       WHERE i.processor_id = e.processor_id
                         AND i.event_id = 'import_' || e.customer_ref)
     ORDER BY e.customer_ref LIMIT ?2";

/// A thin event waiting for its payload: (row id, event id, event type).
pub fn awaiting_fetch(
    conn: &Connection,
    processor_id: i64,
    limit: u32,
) -> Result<Vec<(i64, String, String)>> {
    let mut stmt = conn.prepare_cached(AWAITING_FETCH)?;
    let rows = stmt.query_map(params![processor_id, limit], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Replaces a thin event's payload with the fetched, minimised one and hands it to the linker
/// (`pending`). Returns false when the row was no longer awaiting its fetch.
pub(crate) fn set_fetched(
    conn: &Connection,
    id: i64,
    object_id: Option<&str>,
    customer_ref: Option<&str>,
    observed: &str,
    data: &str,
) -> Result<bool> {
    let n = conn.execute(
        "UPDATE events SET status = 'pending', object_id = ?2, customer_ref = ?3, observed = ?4,
             data = ?5
         WHERE id = ?1 AND status = 'awaiting_fetch'",
        params![
            id,
            object_id,
            customer_ref,
            observed,
            super::payload::encode(
                data,
                super::payload::Columns {
                    object_id,
                    customer_ref,
                    observed
                }
            )?
        ],
    )?;
    Ok(n == 1)
}

/// Customer ids named by `unlinked` events that have no subject yet and were never looked up.
pub fn unknown_customers(conn: &Connection, processor_id: i64, limit: u32) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(UNKNOWN_CUSTOMERS)?;
    let rows = stmt.query_map(params![processor_id, limit], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
