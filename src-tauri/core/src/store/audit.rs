//! Queries on `audit_log`, the hash-chained audit trail (see `crate::audit`).

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Result;

#[derive(Debug, Clone)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub request_id: Option<i64>,
    pub subject: Option<String>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        id: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        request_id: r.get(4)?,
        subject: r.get(5)?,
        details: r.get(6)?,
        prev_hash: r.get(7)?,
        hash: r.get(8)?,
    })
}

const COLS: &str = "id, at, actor, action, request_id, subject, details, prev_hash, hash";

/// The last entry (the head of the chain).
pub fn last(conn: &Connection) -> Result<Option<AuditRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLS} FROM audit_log ORDER BY id DESC LIMIT 1"),
            [],
            from_row,
        )
        .optional()?)
}

pub fn insert(conn: &Connection, row: &AuditRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_log (id, at, actor, action, request_id, subject, details, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        row.id,
        row.at,
        row.actor,
        row.action,
        row.request_id,
        row.subject,
        row.details,
        row.prev_hash,
        row.hash
    ])?;
    Ok(())
}

/// Every entry in chain order, or only a request's.
pub fn list(conn: &Connection, request_id: Option<i64>) -> Result<Vec<AuditRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM audit_log WHERE ?1 IS NULL OR request_id = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([request_id], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
