//! Queries on `subjects`, `subject_emails` and `external_ids`.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::error::Result;

#[derive(Debug, Clone, Serialize)]
pub struct SubjectRow {
    pub id: i64,
    pub email: String,
    pub name: Option<String>,
    pub status: String,
    pub created_at: i64,
    pub activity_count: i64,
}

const SELECT: &str = "SELECT s.id, s.email, s.name, s.status, s.created_at,
        (SELECT count(*) FROM events e WHERE e.subject_id = s.id)
    FROM subjects s";

fn from_row(r: &Row) -> rusqlite::Result<SubjectRow> {
    Ok(SubjectRow {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        status: r.get(3)?,
        created_at: r.get(4)?,
        activity_count: r.get(5)?,
    })
}

/// The id of the subject with this current or earlier address (`email` normalised). Cheap:
/// for the linking step, which runs once per event.
pub(crate) fn id_by_email(conn: &Connection, email: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT subject_id FROM subject_emails WHERE email = ?1")?
        .query_row([email], |r| r.get(0))
        .optional()?)
}

/// The id of the subject a processor knows by `external_id`.
pub(crate) fn id_by_external(
    conn: &Connection,
    processor_id: i64,
    external_id: &str,
) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT subject_id FROM external_ids WHERE processor_id = ?1 AND external_id = ?2",
        )?
        .query_row(params![processor_id, external_id], |r| r.get(0))
        .optional()?)
}

/// A subject's current email.
pub(crate) fn email_of(conn: &Connection, subject_id: i64) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT email FROM subjects WHERE id = ?1")?
        .query_row([subject_id], |r| r.get(0))
        .optional()?)
}

/// By the current or any earlier address (`email` already normalised).
pub(crate) fn find_by_email(conn: &Connection, email: &str) -> Result<Option<SubjectRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} JOIN subject_emails h ON h.subject_id = s.id WHERE h.email = ?1"
    ))?;
    Ok(stmt.query_row([email], from_row).optional()?)
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<SubjectRow>> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT} WHERE s.id = ?1"))?;
    Ok(stmt.query_row([id], from_row).optional()?)
}

pub fn list(conn: &Connection) -> Result<Vec<SubjectRow>> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT} ORDER BY s.email"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Up to `limit` subjects by current email, from the first after `after` (keyset paging on
/// the unique email's index).
pub fn list_after(conn: &Connection, after: Option<&str>, limit: u32) -> Result<Vec<SubjectRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE s.email > ?1 ORDER BY s.email LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![after.unwrap_or(""), limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Subjects whose current or earlier email, or name, contains `text` (case-insensitive).
pub fn search(conn: &Connection, text: &str, limit: u32) -> Result<Vec<SubjectRow>> {
    let pattern = format!(
        "%{}%",
        text.trim()
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE s.id IN (
             SELECT subject_id FROM subject_emails WHERE email LIKE ?1 ESCAPE '\\'
             UNION SELECT id FROM subjects WHERE lower(name) LIKE ?1 ESCAPE '\\')
         ORDER BY s.email LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![pattern, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn create(conn: &Connection, email: &str, name: Option<&str>, now: i64) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO subjects (email, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
    )?
    .execute(params![email, name, now])?;
    let id = conn.last_insert_rowid();
    conn.prepare_cached(
        "INSERT INTO subject_emails (email, subject_id, first_seen_at) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![email, id, now])?;
    Ok(id)
}

/// Makes `new_email` the subject's current address; earlier ones stay in the history.
/// Returns false when the address already belongs to another subject (left unchanged).
/// Like the setters below, it writes only what changes: most customer events repeat what the
/// subject already says, and an unchanged row is not written again (nor its `updated_at`).
pub(crate) fn change_email(
    conn: &Connection,
    subject_id: i64,
    new_email: &str,
    now: i64,
) -> Result<bool> {
    let owner: Option<i64> = conn
        .prepare_cached("SELECT subject_id FROM subject_emails WHERE email = ?1")?
        .query_row([new_email], |r| r.get(0))
        .optional()?;
    match owner {
        Some(other) if other != subject_id => return Ok(false),
        Some(_) => {
            conn.prepare_cached(
                "UPDATE subject_emails SET replaced_at = NULL
             WHERE email = ?1 AND replaced_at IS NOT NULL",
            )?
            .execute([new_email])?;
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO subject_emails (email, subject_id, first_seen_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![new_email, subject_id, now])?;
        }
    }
    conn.prepare_cached(
        "UPDATE subject_emails SET replaced_at = ?3
         WHERE subject_id = ?1 AND email <> ?2 AND replaced_at IS NULL",
    )?
    .execute(params![subject_id, new_email, now])?;
    conn.prepare_cached(
        "UPDATE subjects SET email = ?2, updated_at = ?3 WHERE id = ?1 AND email IS NOT ?2",
    )?
    .execute(params![subject_id, new_email, now])?;
    Ok(true)
}

/// Records an earlier address of the subject (e.g. from `previous_attributes`).
pub(crate) fn add_past_email(
    conn: &Connection,
    subject_id: i64,
    email: &str,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO subject_emails (email, subject_id, first_seen_at, replaced_at)
         VALUES (?1, ?2, ?3, ?3) ON CONFLICT (email) DO NOTHING",
    )?
    .execute(params![email, subject_id, now])?;
    Ok(())
}

pub(crate) fn attach_external(
    conn: &Connection,
    processor_id: i64,
    external_id: &str,
    subject_id: i64,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO external_ids (processor_id, external_id, subject_id, first_seen_at)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    )?
    .execute(params![processor_id, external_id, subject_id, now])?;
    Ok(())
}

pub(crate) fn set_name_if_missing(conn: &Connection, subject_id: i64, name: &str) -> Result<()> {
    conn.prepare_cached("UPDATE subjects SET name = ?2 WHERE id = ?1 AND name IS NULL")?
        .execute(params![subject_id, name])?;
    Ok(())
}

pub(crate) fn set_name(conn: &Connection, subject_id: i64, name: &str, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE subjects SET name = ?2, updated_at = ?3 WHERE id = ?1 AND name IS NOT ?2",
    )?
    .execute(params![subject_id, name, now])?;
    Ok(())
}

pub(crate) fn set_status(conn: &Connection, subject_id: i64, status: &str, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE subjects SET status = ?2, updated_at = ?3
         WHERE id = ?1 AND status IS NOT ?2",
    )?
    .execute(params![subject_id, status, now])?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ExternalId {
    pub processor_id: i64,
    pub external_id: String,
}

pub fn external_ids(conn: &Connection, subject_id: i64) -> Result<Vec<ExternalId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT processor_id, external_id FROM external_ids WHERE subject_id = ?1
         ORDER BY first_seen_at, external_id",
    )?;
    let rows = stmt.query_map([subject_id], |r| {
        Ok(ExternalId {
            processor_id: r.get(0)?,
            external_id: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[derive(Debug, Clone, Serialize)]
pub struct EmailRow {
    pub email: String,
    pub first_seen_at: i64,
    pub replaced_at: Option<i64>,
}

pub fn emails(conn: &Connection, subject_id: i64) -> Result<Vec<EmailRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT email, first_seen_at, replaced_at FROM subject_emails WHERE subject_id = ?1
         ORDER BY replaced_at IS NULL, replaced_at, first_seen_at",
    )?;
    let rows = stmt.query_map([subject_id], |r| {
        Ok(EmailRow {
            email: r.get(0)?,
            first_seen_at: r.get(1)?,
            replaced_at: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
