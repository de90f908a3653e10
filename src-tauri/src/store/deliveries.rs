//! Queries on `deliveries`: what the receiver answered, kept within a size and age cap.

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::error::Result;

#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRow {
    pub received_at: i64,
    pub status_code: u16,
    pub outcome: String,
    pub reason: Option<String>,
    pub event_id: Option<String>,
    pub processor_id: Option<i64>,
}

pub fn insert(conn: &Connection, d: &DeliveryRow) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO deliveries (received_at, status_code, outcome, reason, event_id, processor_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        d.received_at,
        d.status_code,
        d.outcome,
        d.reason,
        d.event_id,
        d.processor_id
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Newest first; with `rejected_first`, every rejected delivery before the accepted ones.
pub fn list(conn: &Connection, limit: u32, rejected_first: bool) -> Result<Vec<DeliveryRow>> {
    let order = if rejected_first {
        "(status_code >= 400) DESC, received_at DESC, id DESC"
    } else {
        "received_at DESC, id DESC"
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT received_at, status_code, outcome, reason, event_id, processor_id
         FROM deliveries ORDER BY {order} LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit], |r| {
        Ok(DeliveryRow {
            received_at: r.get(0)?,
            status_code: r.get(1)?,
            outcome: r.get(2)?,
            reason: r.get(3)?,
            event_id: r.get(4)?,
            processor_id: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Rejected deliveries (status ≥ 400) since `since_ms`.
pub fn count_rejected_since(conn: &Connection, since_ms: i64) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM deliveries WHERE status_code >= 400 AND received_at >= ?1",
        [since_ms],
        |r| r.get(0),
    )?)
}

/// Keeps at most `keep` rows and nothing older than `oldest_ms`.
pub fn prune(conn: &Connection, keep: i64, oldest_ms: i64) -> Result<usize> {
    let n = conn.execute(
        "DELETE FROM deliveries
         WHERE received_at < ?2
            OR id <= (SELECT max(id) FROM deliveries) - ?1",
        params![keep, oldest_ms],
    )?;
    Ok(n)
}
