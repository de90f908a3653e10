//! Queries on `replay_cache`: keyed hashes of the (processor, event id) of deleted events
//! (written by the `events_leave_replay_hash` trigger, migrations/0011_replay_cache.sql).

use rusqlite::{Connection, OptionalExtension};

use crate::error::Result;

/// Whether an event with this replay hash was stored and deleted since.
pub fn contains(conn: &Connection, hash: &[u8; 16]) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM replay_cache WHERE hash = ?1")?
        .query_row([&hash[..]], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Forgets up to `limit` of the entries of events received before `before_ms`, oldest
/// first; returns how many.
pub(crate) fn delete_seen_before(conn: &Connection, before_ms: i64, limit: u32) -> Result<usize> {
    Ok(conn
        .prepare_cached(&format!(
            "DELETE FROM replay_cache WHERE hash IN (
                 SELECT hash FROM replay_cache WHERE seen_at < ?1 ORDER BY seen_at LIMIT {limit})"
        ))?
        .execute([before_ms])?)
}

/// How many entries there are (tests, diagnostics).
pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM replay_cache", [], |r| r.get(0))?)
}
