//! Queries on the RoPA tables: `ropa_activities`, `ropa_activity_processors`,
//! `ropa_processors`, `compliance_checklist`, and the observed categories of `events`.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Result;
use crate::store::processors::ProcessorKind;

#[derive(Debug, Clone)]
pub struct ActivityRow {
    pub id: i64,
    pub default_key: Option<String>,
    /// JSON of `ropa::ActivityFields`.
    pub fields: String,
    pub updated_at: i64,
    pub processor_ids: Vec<i64>,
}

pub fn activities(conn: &Connection) -> Result<Vec<ActivityRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, default_key, fields, updated_at FROM ropa_activities ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(ActivityRow {
            id: r.get(0)?,
            default_key: r.get(1)?,
            fields: r.get(2)?,
            updated_at: r.get(3)?,
            processor_ids: Vec::new(),
        })
    })?;
    let mut out: Vec<ActivityRow> = rows.collect::<rusqlite::Result<_>>()?;
    let mut links = conn.prepare_cached(
        "SELECT activity_id, processor_id FROM ropa_activity_processors
         ORDER BY activity_id, processor_id",
    )?;
    let pairs = links.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
    for pair in pairs {
        let (a, p) = pair?;
        if let Some(row) = out.iter_mut().find(|r| r.id == a) {
            row.processor_ids.push(p);
        }
    }
    Ok(out)
}

pub(crate) fn default_exists(conn: &Connection, key: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM ropa_activities WHERE default_key = ?1",
            [key],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

pub(crate) fn insert_activity(
    conn: &Connection,
    default_key: Option<&str>,
    fields: &str,
    now: i64,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO ropa_activities (default_key, fields, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?3)",
        params![default_key, fields, now],
    )?;
    Ok(conn.last_insert_rowid())
}

pub(crate) fn update_activity(conn: &Connection, id: i64, fields: &str, now: i64) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE ropa_activities SET fields = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, fields, now],
    )? == 1)
}

pub fn delete_activity(conn: &Connection, id: i64) -> Result<bool> {
    conn.execute(
        "DELETE FROM ropa_activity_processors WHERE activity_id = ?1",
        [id],
    )?;
    Ok(conn.execute("DELETE FROM ropa_activities WHERE id = ?1", [id])? == 1)
}

/// Replaces the processors an activity is linked to.
pub(crate) fn set_links(conn: &Connection, activity_id: i64, processor_ids: &[i64]) -> Result<()> {
    conn.execute(
        "DELETE FROM ropa_activity_processors WHERE activity_id = ?1",
        [activity_id],
    )?;
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO ropa_activity_processors (activity_id, processor_id)
         VALUES (?1, ?2)",
    )?;
    for p in processor_ids {
        stmt.execute([activity_id, *p])?;
    }
    Ok(())
}

pub fn link(conn: &Connection, activity_id: i64, processor_id: i64) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO ropa_activity_processors (activity_id, processor_id)
         VALUES (?1, ?2)",
        [activity_id, processor_id],
    )?;
    Ok(())
}

/// Processors of this kind that no activity names yet.
pub(crate) fn unlinked_processors(conn: &Connection, kind: ProcessorKind) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.id FROM processors p WHERE p.kind = ?1 AND NOT EXISTS
           (SELECT 1 FROM ropa_activity_processors l WHERE l.processor_id = p.id)
         ORDER BY p.id",
    )?;
    let rows = stmt.query_map([kind], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Activity ids by default key.
pub(crate) fn default_activity(conn: &Connection, key: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT id FROM ropa_activities WHERE default_key = ?1",
            [key],
            |r| r.get(0),
        )
        .optional()?)
}

/// (processor id, fields JSON) of every processor's RoPA details.
pub fn processor_details(conn: &Connection) -> Result<Vec<(i64, String)>> {
    let mut stmt =
        conn.prepare_cached("SELECT processor_id, fields FROM ropa_processors ORDER BY 1")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn set_processor_details(
    conn: &Connection,
    processor_id: i64,
    fields: &str,
    now: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO ropa_processors (processor_id, fields, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (processor_id) DO UPDATE SET fields = excluded.fields,
           updated_at = excluded.updated_at",
        params![processor_id, fields, now],
    )?;
    Ok(())
}

/// Inserts the details only when the processor has none yet.
pub(crate) fn init_processor_details(
    conn: &Connection,
    processor_id: i64,
    fields: &str,
    now: i64,
) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO ropa_processors (processor_id, fields, updated_at)
         VALUES (?1, ?2, ?3)",
        params![processor_id, fields, now],
    )?;
    Ok(())
}

/// (key, done_on, evidence) of every recorded checklist step.
pub fn checklist(conn: &Connection) -> Result<Vec<(String, Option<String>, String)>> {
    let mut stmt =
        conn.prepare_cached("SELECT key, done_on, evidence FROM compliance_checklist")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn set_checklist(
    conn: &Connection,
    key: &str,
    done_on: Option<&str>,
    evidence: &str,
    now: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO compliance_checklist (key, done_on, evidence, updated_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (key) DO UPDATE SET done_on = excluded.done_on,
           evidence = excluded.evidence, updated_at = excluded.updated_at",
        params![key, done_on, evidence, now],
    )?;
    Ok(())
}

/// Per processor, the distinct `observed` lists of its events with how many events carried
/// each: (processor id, observed, count).
pub fn observed(conn: &Connection) -> Result<Vec<(i64, String, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT processor_id, observed, count(*) FROM events
         WHERE observed != '' GROUP BY processor_id, observed",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
