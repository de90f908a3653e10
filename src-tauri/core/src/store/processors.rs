//! Queries on `processors`.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::Result;

/// What a processor is, as stored in `processors.kind` (the column's CHECK lists the same
/// three) and named in JSON: Stripe, another system by signed webhooks, or a manual entry
/// for the RoPA that receives nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ProcessorKind {
    Stripe,
    Webhook,
    Manual,
}

text_enum!(ProcessorKind {
    Stripe => "stripe",
    Webhook => "webhook",
    Manual => "manual",
});

impl ProcessorKind {
    /// The URL path segment of its webhooks: `/webhooks/stripe/…` or `/webhooks/custom/…`.
    pub(crate) fn route_segment(self) -> &'static str {
        match self {
            ProcessorKind::Stripe => "stripe",
            ProcessorKind::Webhook | ProcessorKind::Manual => "custom",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcessorRow {
    pub id: i64,
    pub name: String,
    pub kind: ProcessorKind,
    pub endpoint_id: Option<String>,
    #[serde(skip)]
    pub token_hash: Option<Vec<u8>>,
    pub config: String,
    pub created_at: i64,
    /// When the newest verified event from this processor was stored.
    pub last_event_at: Option<i64>,
    /// When it was removed (`None`: active).
    pub removed_at: Option<i64>,
}

const SELECT: &str =
    "SELECT p.id, p.name, p.kind, p.endpoint_id, p.token_hash, p.config, p.created_at,
        (SELECT max(e.received_at) FROM events e WHERE e.processor_id = p.id), p.removed_at
    FROM processors p";

fn from_row(r: &Row) -> rusqlite::Result<ProcessorRow> {
    Ok(ProcessorRow {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: r.get(2)?,
        endpoint_id: r.get(3)?,
        token_hash: r.get(4)?,
        config: r.get(5)?,
        created_at: r.get(6)?,
        last_event_at: r.get(7)?,
        removed_at: r.get(8)?,
    })
}

pub struct NewProcessor<'a> {
    pub name: &'a str,
    pub kind: ProcessorKind,
    pub endpoint_id: Option<&'a str>,
    pub token_hash: Option<&'a [u8]>,
    pub config: &'a str,
    pub created_at: i64,
}

impl NewProcessor<'static> {
    /// A Stripe processor with endpoint `endpoint_id`, no token and default settings: the row
    /// benchmarks and tests hang their events on.
    pub fn bare_stripe(endpoint_id: &'static str) -> Self {
        NewProcessor {
            name: "Stripe",
            kind: ProcessorKind::Stripe,
            endpoint_id: Some(endpoint_id),
            token_hash: None,
            config: "{}",
            created_at: 0,
        }
    }
}

pub fn insert(conn: &Connection, p: &NewProcessor) -> Result<i64> {
    conn.execute(
        "INSERT INTO processors (name, kind, endpoint_id, token_hash, config, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            p.name,
            p.kind,
            p.endpoint_id,
            p.token_hash,
            p.config,
            p.created_at
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// The active processors (not removed).
pub fn list(conn: &Connection) -> Result<Vec<ProcessorRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE p.removed_at IS NULL ORDER BY p.id"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The removed processors, newest removal first.
pub(crate) fn list_removed(conn: &Connection) -> Result<Vec<ProcessorRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE p.removed_at IS NOT NULL ORDER BY p.removed_at DESC, p.id"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Marks an active processor removed and clears its token hash (its URL is refused from now
/// on). Returns whether it was active.
pub(crate) fn mark_removed(conn: &Connection, id: i64, now: i64) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE processors SET removed_at = ?2, token_hash = NULL
         WHERE id = ?1 AND removed_at IS NULL",
        rusqlite::params![id, now],
    )? == 1)
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<ProcessorRow>> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT} WHERE p.id = ?1"))?;
    Ok(stmt.query_row([id], from_row).optional()?)
}

pub(crate) fn by_endpoint(conn: &Connection, endpoint_id: &str) -> Result<Option<ProcessorRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE p.endpoint_id = ?1 AND p.removed_at IS NULL"
    ))?;
    Ok(stmt.query_row([endpoint_id], from_row).optional()?)
}

pub(crate) fn set_config(conn: &Connection, id: i64, config: &str) -> Result<()> {
    conn.execute(
        "UPDATE processors SET config = ?2 WHERE id = ?1",
        rusqlite::params![id, config],
    )?;
    Ok(())
}

pub(crate) fn set_name(conn: &Connection, id: i64, name: &str) -> Result<()> {
    conn.execute(
        "UPDATE processors SET name = ?2 WHERE id = ?1",
        rusqlite::params![id, name],
    )?;
    Ok(())
}

pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    conn.execute("DELETE FROM processors WHERE id = ?1", [id])?;
    Ok(())
}
