//! Queries on `install` (the database's random id and keychain namespace) and
//! `keychain_entries` (the processor entries it wrote: names, never secrets).

use std::path::Path;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct InstallRow {
    pub install_id: String,
    /// `None` only for a database upgraded from before v10 that was not opened since.
    pub keychain_namespace: Option<String>,
    pub upgraded: bool,
    pub created_at: i64,
}

/// 128 random bits from the OS, hex: a new install id.
pub(crate) fn new_install_id() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| Error::Io(format!("the OS random number generator failed: {e}")))?;
    Ok(hex::encode(b))
}

/// Inserts the install row (migration v10, in its transaction). A database that holds
/// anything a user did (processors, requests, the audit trail, settings) predates v10: its
/// entries are under the old data-directory namespace, recorded on the next open
/// ([`adopt_namespace`]). A new one is namespaced by its own id.
pub fn create(conn: &Connection, install_id: &str, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO install (id, install_id, keychain_namespace, upgraded, created_at)
         SELECT 1, ?1, CASE WHEN u THEN NULL ELSE ?1 END, u, ?2
         FROM (SELECT EXISTS (SELECT 1 FROM processors)
                   OR EXISTS (SELECT 1 FROM requests)
                   OR EXISTS (SELECT 1 FROM audit_log)
                   OR EXISTS (SELECT 1 FROM settings) AS u)",
        params![install_id, now],
    )?;
    Ok(())
}

pub fn get(conn: &Connection) -> Result<Option<InstallRow>> {
    Ok(conn
        .query_row(
            "SELECT install_id, keychain_namespace, upgraded, created_at FROM install WHERE id = 1",
            [],
            |r| {
                Ok(InstallRow {
                    install_id: r.get(0)?,
                    keychain_namespace: r.get(1)?,
                    upgraded: r.get(2)?,
                    created_at: r.get(3)?,
                })
            },
        )
        .optional()?)
}

/// Records `namespace` as the keychain namespace of an upgraded database, once: a namespace
/// already recorded is kept.
pub(crate) fn adopt_namespace(conn: &Connection, namespace: &str) -> Result<()> {
    conn.execute(
        "UPDATE install SET keychain_namespace = ?1 WHERE id = 1 AND keychain_namespace IS NULL",
        [namespace],
    )?;
    Ok(())
}

/// The keychain namespace, `None` if not recorded yet.
pub fn keychain_namespace(conn: &Connection) -> Result<Option<String>> {
    Ok(get(conn)?.and_then(|r| r.keychain_namespace))
}

/// The keychain namespace recorded in the database file `db_file` (another install's),
/// opened read-only. `Ok(None)`: a database without one (from before v10, or not yet opened
/// since the upgrade).
pub(crate) fn peek_namespace(db_file: &Path) -> Result<Option<String>> {
    let conn = Connection::open_with_flags(
        db_file,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(2))?;
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'install')",
        [],
        |r| r.get(0),
    )?;
    if !has_table {
        return Ok(None);
    }
    keychain_namespace(&conn)
}

// ---------------------------------------------------------------------------------------------
// keychain_entries

/// Records that processor `processor_id` has (or is about to have) a `kind` entry.
pub(crate) fn record_entry(conn: &Connection, processor_id: i64, kind: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO keychain_entries (processor_id, kind) VALUES (?1, ?2)
         ON CONFLICT DO NOTHING",
        params![processor_id, kind],
    )?;
    Ok(())
}

pub(crate) fn forget_entry(conn: &Connection, processor_id: i64, kind: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM keychain_entries WHERE processor_id = ?1 AND kind = ?2",
        params![processor_id, kind],
    )?;
    Ok(())
}

pub(crate) fn is_recorded(conn: &Connection, processor_id: i64, kind: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM keychain_entries WHERE processor_id = ?1 AND kind = ?2)",
        params![processor_id, kind],
        |r| r.get(0),
    )?)
}

/// Every recorded entry: (processor id, kind).
pub(crate) fn recorded_entries(conn: &Connection) -> Result<Vec<(i64, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT processor_id, kind FROM keychain_entries ORDER BY processor_id, kind",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
