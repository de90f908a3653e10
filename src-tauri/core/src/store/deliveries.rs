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
/// Newest first (rejected ones first with `rejected_first`), of one processor or all.
pub fn list(
    conn: &Connection,
    limit: u32,
    rejected_first: bool,
    processor: Option<i64>,
) -> Result<Vec<DeliveryRow>> {
    let order = if rejected_first {
        "(status_code >= 400) DESC, received_at DESC, id DESC"
    } else {
        "received_at DESC, id DESC"
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT received_at, status_code, outcome, reason, event_id, processor_id
         FROM deliveries WHERE ?2 IS NULL OR processor_id = ?2 ORDER BY {order} LIMIT ?1"
    ))?;
    let rows = stmt.query_map(rusqlite::params![limit, processor], |r| {
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
pub(crate) fn count_rejected_since(conn: &Connection, since_ms: i64) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM deliveries WHERE status_code >= 400 AND received_at >= ?1",
        [since_ms],
        |r| r.get(0),
    )?)
}

/// Keeps nothing older than `oldest_ms`, at most `keep` rows of deliveries to known endpoints
/// (with a processor) and, apart from them, at most `keep_unknown` of requests for no known
/// endpoint (scanners, junk): junk cannot push the record of real deliveries out.
pub(crate) fn prune(
    conn: &Connection,
    keep: i64,
    keep_unknown: i64,
    oldest_ms: i64,
) -> Result<usize> {
    let n = conn.execute(
        "DELETE FROM deliveries
         WHERE received_at < ?3
            OR (processor_id IS NOT NULL AND id < coalesce((
                SELECT id FROM deliveries WHERE processor_id IS NOT NULL
                ORDER BY id DESC LIMIT 1 OFFSET ?1 - 1), 0))
            OR (processor_id IS NULL AND id < coalesce((
                SELECT id FROM deliveries WHERE processor_id IS NULL
                ORDER BY id DESC LIMIT 1 OFFSET ?2 - 1), 0))",
        params![keep.max(1), keep_unknown.max(1), oldest_ms],
    )?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_is_pruned_in_its_own_bucket() {
        let mut conn = Connection::open_in_memory().unwrap();
        let latest = crate::store::migrate::latest_version();
        crate::store::migrate::migrate_to(&mut conn, latest).unwrap();
        let stripe = crate::store::processors::NewProcessor::bare_stripe("e");
        let pid = crate::store::processors::insert(&conn, &stripe).unwrap();
        let row = |at: i64, processor_id: Option<i64>| DeliveryRow {
            received_at: at,
            status_code: if processor_id.is_some() { 200 } else { 401 },
            outcome: "x".into(),
            reason: None,
            event_id: None,
            processor_id,
        };
        for i in 0..30 {
            insert(&conn, &row(1_000 + i, Some(pid))).unwrap();
        }
        for i in 0..100 {
            insert(&conn, &row(2_000 + i, None)).unwrap();
        }
        prune(&conn, 10, 5, 0).unwrap();
        let left = list(&conn, 1000, false, None).unwrap();
        let known: Vec<i64> = left
            .iter()
            .filter(|d| d.processor_id.is_some())
            .map(|d| d.received_at)
            .collect();
        let junk: Vec<i64> = left
            .iter()
            .filter(|d| d.processor_id.is_none())
            .map(|d| d.received_at)
            .collect();
        assert_eq!(known, (1_020..1_030).rev().collect::<Vec<_>>());
        assert_eq!(junk, (2_095..2_100).rev().collect::<Vec<_>>());
        // The age cap applies to both.
        prune(&conn, 10, 5, 1_025).unwrap();
        assert_eq!(list(&conn, 1000, false, None).unwrap().len(), 5 + 5);
    }
}
