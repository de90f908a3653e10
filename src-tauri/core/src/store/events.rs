//! Queries on `events`, the Processing Activity Log.

use rusqlite::{params, params_from_iter, types::Value, Connection};
use serde::Serialize;

use crate::error::Result;

/// Processing states of an event.
pub mod status {
    /// Stored; not yet linked to a data subject.
    pub(crate) const PENDING: &str = "pending";
    pub const LINKED: &str = "linked";
    /// Names a customer the app has not seen yet; linked when that customer arrives.
    pub const UNLINKED: &str = "unlinked";
    /// Carries no personal data (products, payouts).
    pub const NO_SUBJECT: &str = "no_subject";
    /// A thin event: only a notification; its payload is fetched through the Stripe API.
    pub(crate) const AWAITING_FETCH: &str = "awaiting_fetch";
}

pub struct NewEvent {
    pub processor_id: i64,
    pub source: String,
    pub event_id: String,
    pub event_type: String,
    pub occurred_at: i64,
    pub received_at: i64,
    pub livemode: Option<bool>,
    pub status: &'static str,
    pub object_id: Option<String>,
    pub customer_ref: Option<String>,
    pub observed: String,
    pub data: String,
    /// The keyed hash of (processor, event id) left in `replay_cache` when the event is
    /// deleted (`HashKey::replay`); `None` only where no key is at hand (tests, benches).
    pub replay_hash: Option<[u8; 16]>,
}

/// Inserts unless (processor, event id) is stored already. Returns whether it was new.
pub fn insert(conn: &Connection, e: &NewEvent) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "INSERT INTO events (processor_id, source, event_id, event_type, occurred_at,
                 received_at, livemode, status, object_id, customer_ref, observed, data,
                 replay_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT (processor_id, event_id) DO NOTHING",
        )?
        .execute(params![
            e.processor_id,
            e.source,
            e.event_id,
            e.event_type,
            e.occurred_at,
            e.received_at,
            e.livemode,
            e.status,
            e.object_id,
            e.customer_ref,
            e.observed,
            e.data,
            e.replay_hash.as_ref().map(|h| &h[..])
        ])?;
    Ok(n == 1)
}

/// An event waiting for the linking step.
pub struct Pending {
    pub id: i64,
    pub processor_id: i64,
    pub occurred_at: i64,
    pub event_type: String,
    pub customer_ref: Option<String>,
    pub data: String,
}

pub fn pending(conn: &Connection, limit: u32) -> Result<Vec<Pending>> {
    // The limit is written into the SQL, not bound: SQLite (3.50) recompiles a statement
    // whenever a parameter in its LIMIT is bound, and this runs after every batch of stored
    // events, in the writer thread. One cached statement per limit value.
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, processor_id, event_type, customer_ref, data, occurred_at FROM events
         WHERE status = 'pending' ORDER BY id LIMIT {limit}"
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok(Pending {
            id: r.get(0)?,
            processor_id: r.get(1)?,
            event_type: r.get(2)?,
            customer_ref: r.get(3)?,
            data: r.get(4)?,
            occurred_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn set_outcome(
    conn: &Connection,
    id: i64,
    status: &str,
    subject_id: Option<i64>,
    subject_email: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE events SET status = ?2, subject_id = ?3, subject_email = ?4 WHERE id = ?1",
    )?
    .execute(params![id, status, subject_id, subject_email])?;
    Ok(())
}

/// Links the events that named `customer_ref` before its subject was known.
pub(crate) fn link_waiting(
    conn: &Connection,
    processor_id: i64,
    customer_ref: &str,
    subject_id: i64,
    subject_email: &str,
) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE events SET status = 'linked', subject_id = ?3, subject_email = ?4
             WHERE processor_id = ?1 AND customer_ref = ?2 AND subject_id IS NULL
               AND customer_ref IS NOT NULL AND status = 'unlinked'",
        )?
        .execute(params![
            processor_id,
            customer_ref,
            subject_id,
            subject_email
        ])?)
}

/// The subject of an already-linked event about one of `object_ids` (a dispute's charge).
pub(crate) fn subject_of_objects(
    conn: &Connection,
    processor_id: i64,
    object_ids: &[String],
) -> Result<Option<i64>> {
    use rusqlite::OptionalExtension;
    let mut stmt = conn.prepare_cached(
        "SELECT subject_id FROM events
         WHERE processor_id = ?1 AND object_id = ?2 AND subject_id IS NOT NULL LIMIT 1",
    )?;
    for id in object_ids {
        if let Some(s) = stmt
            .query_row(params![processor_id, id], |r| r.get(0))
            .optional()?
        {
            return Ok(Some(s));
        }
    }
    Ok(None)
}

/// One row of the activity log as the CLI and the screens show it.
#[derive(Debug, Clone, Serialize)]
pub struct ActivityRow {
    pub id: i64,
    pub processor_id: i64,
    pub source: String,
    pub event_type: String,
    pub event_id: String,
    pub occurred_at: i64,
    pub received_at: i64,
    pub subject_id: Option<i64>,
    pub subject_email: Option<String>,
    pub status: String,
}

/// The columns [`activity_row`] reads, in order.
const ACTIVITY_COLUMNS: &str = "id, processor_id, source, event_type, event_id, occurred_at, \
     received_at, subject_id, subject_email, status";

fn activity_row(r: &rusqlite::Row) -> rusqlite::Result<ActivityRow> {
    Ok(ActivityRow {
        id: r.get(0)?,
        processor_id: r.get(1)?,
        source: r.get(2)?,
        event_type: r.get(3)?,
        event_id: r.get(4)?,
        occurred_at: r.get(5)?,
        received_at: r.get(6)?,
        subject_id: r.get(7)?,
        subject_email: r.get(8)?,
        status: r.get(9)?,
    })
}

/// Filters, all optional and combined with AND. Times are unix ms, `until` exclusive.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub source: Option<String>,
    /// An SQLite GLOB over the type without its source prefix.
    pub type_glob: Option<String>,
    /// Any of these subjects (a name search can match several).
    pub subject_ids: Option<Vec<i64>>,
    pub processor_id: Option<i64>,
    pub status: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Keyset paging: only rows before this (occurred_at, id), in the list's order.
    pub before: Option<(i64, i64)>,
    pub limit: u32,
    /// Walk the time index newest first and test each row, instead of letting SQLite pick a
    /// filter's index and sort every match: right when matches are common (a page fills
    /// after a few rows), wrong when they are rare.
    pub scan_by_time: bool,
}

/// The WHERE clause (after `WHERE 1`) and its arguments for a filter.
fn where_clause(f: &Filter, with_cursor: bool) -> (String, Vec<Value>) {
    let mut sql = String::new();
    let mut args: Vec<Value> = Vec::new();
    // A unary `+` keeps SQLite from using an index for that column.
    let plus = if f.scan_by_time && with_cursor {
        "+"
    } else {
        ""
    };
    let mut push = |clause: &str, v: Value| {
        args.push(v);
        sql.push_str(&format!(" AND {plus}{clause} ?{}", args.len()));
    };
    if let Some(s) = &f.source {
        push("source =", Value::Text(s.clone()));
    }
    if let Some(g) = &f.type_glob {
        push("event_type GLOB", Value::Text(g.clone()));
    }
    if let Some(id) = f.processor_id {
        push("processor_id =", Value::Integer(id));
    }
    if let Some(s) = &f.status {
        push("status =", Value::Text(s.clone()));
    }
    // The time range stays indexable: it is the order the time index walks.
    if let Some(t) = f.since {
        args.push(Value::Integer(t));
        sql.push_str(&format!(" AND occurred_at >= ?{}", args.len()));
    }
    if let Some(t) = f.until {
        args.push(Value::Integer(t));
        sql.push_str(&format!(" AND occurred_at < ?{}", args.len()));
    }
    if let Some(ids) = &f.subject_ids {
        let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        sql.push_str(&format!(" AND {plus}subject_id IN ({})", list.join(",")));
    }
    if let (true, Some((t, id))) = (with_cursor, f.before) {
        args.push(Value::Integer(t));
        args.push(Value::Integer(id));
        let (a, b) = (args.len() - 1, args.len());
        sql.push_str(&format!(
            " AND (occurred_at < ?{a} OR (occurred_at = ?{a} AND id < ?{b}))"
        ));
    }
    (sql, args)
}

pub fn list(conn: &Connection, f: &Filter) -> Result<Vec<ActivityRow>> {
    let (clause, mut args) = where_clause(f, true);
    args.push(Value::Integer(f.limit.into()));
    let sql = format!(
        "SELECT {ACTIVITY_COLUMNS}
         FROM events WHERE 1{clause} ORDER BY occurred_at DESC, id DESC LIMIT ?{}",
        args.len()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), activity_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many rows match the filter (ignoring paging).
pub fn count(conn: &Connection, f: &Filter) -> Result<i64> {
    let (clause, args) = where_clause(f, false);
    let sql = format!("SELECT count(*) FROM events WHERE 1{clause}");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(args), |r| r.get(0))?)
}

/// About how many events are stored (the largest row id: no scan).
pub(crate) fn approximate_total(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT coalesce(max(id), 0) FROM events", [], |r| r.get(0))?)
}

/// Events per UTC day of when they occurred (not when they arrived: a catch-up or backfill
/// brings old events today), since `since_ms`: (day number since the epoch, count).
pub(crate) fn occurred_per_day(conn: &Connection, since_ms: i64) -> Result<Vec<(i64, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT occurred_at / 86400000 AS day, count(*) FROM events
         WHERE occurred_at >= ?1 GROUP BY day ORDER BY day",
    )?;
    let rows = stmt.query_map([since_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Deletes events received before `before_ms` (the activity-log retention).
pub(crate) fn delete_received_before(conn: &Connection, before_ms: i64) -> Result<usize> {
    Ok(conn.execute("DELETE FROM events WHERE received_at < ?1", [before_ms])?)
}

/// One event with its minimised payload.
pub fn get(conn: &Connection, id: i64) -> Result<Option<(ActivityRow, String)>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row(
            &format!("SELECT {ACTIVITY_COLUMNS}, data FROM events WHERE id = ?1"),
            [id],
            |r| Ok((activity_row(r)?, r.get(10)?)),
        )
        .optional()?)
}
