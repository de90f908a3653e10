//! The database side of backups (`crate::backup`): the online copy of the live database
//! (SQLite's backup API), what a copy holds (schema version, counts, the audit chain's head),
//! the checks on a copy being restored, and the `backups` table (every attempt).

use std::path::Path;
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::Db;
use crate::error::{Error, Result};

/// How many rows a database holds, as the manifest records and a restore checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(rename = "BackupCounts")]
pub struct Counts {
    pub processors: i64,
    pub events: i64,
    pub subjects: i64,
    pub requests: i64,
    pub audit_entries: i64,
}

impl Counts {
    /// Whether anything an officer did or received is recorded (a processor, an event, a
    /// request, an audit entry): a new install holds none.
    pub fn holds_records(&self) -> bool {
        self.processors + self.events + self.requests + self.audit_entries > 0
    }
}

/// What a database file holds, read from the file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub schema_version: u32,
    pub counts: Counts,
    /// The last audit entry: (id, hash). `None` for an empty trail.
    pub audit_head: Option<(i64, String)>,
}

/// Copies the live database into `dest`, a file that does not exist yet (created 0600): one
/// step of the backup API, so one read transaction and the database as of one commit, while
/// the writer goes on committing into the WAL. Never a file copy of a live WAL database.
pub fn snapshot_into(db: &Db, dest: &Path) -> Result<()> {
    super::create_private_new(dest)?;
    let mut out = Connection::open(dest)?;
    let src = Connection::open_with_flags(
        db.path(),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    src.busy_timeout(Duration::from_secs(5))?;
    let backup = Backup::new(&src, &mut out)?;
    // Busy or locked: a checkpoint held a lock for a moment; the step starts again.
    for _ in 0..50 {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More | StepResult::Busy | StepResult::Locked => {
                std::thread::sleep(Duration::from_millis(100))
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    Err(Error::Unavailable(
        "the database stayed busy for 5 seconds: try the backup again".into(),
    ))
}

fn open_read_only(file: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

/// What the database file `file` holds.
pub fn inspect(file: &Path) -> Result<Inspected> {
    let conn = open_read_only(file)?;
    let count = |table: &str| -> Result<i64> {
        Ok(conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
    };
    Ok(Inspected {
        schema_version: super::migrate::user_version(&conn)?,
        counts: Counts {
            processors: count("processors")?,
            events: count("events")?,
            subjects: count("subjects")?,
            requests: count("requests")?,
            audit_entries: count("audit_log")?,
        },
        audit_head: conn
            .query_row(
                "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?,
    })
}

/// The schema version of the database file `file`; an error if it is not an SQLite database.
pub fn schema_version_of(file: &Path) -> Result<u32> {
    super::migrate::user_version(&open_read_only(file)?)
}

/// The newest schema this build knows.
pub fn latest_schema() -> u32 {
    super::migrate::latest_version()
}

/// `PRAGMA integrity_check` on `conn`'s database: the problems it found, none when intact (at
/// most 20 are listed).
pub fn integrity_problems(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("PRAGMA integrity_check(20)")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let found: Vec<String> = rows.collect::<rusqlite::Result<_>>()?;
    Ok(found.into_iter().filter(|r| r != "ok").collect())
}

/// [`integrity_problems`] of the database file `file`.
pub fn integrity_problems_of(file: &Path) -> Result<Vec<String>> {
    integrity_problems(&open_read_only(file)?)
}

/// Gives the restored database file `file` a new install id and keychain namespace: a copy is
/// a new install (ARCHITECTURE.md: two data directories never share keychain entries), whose
/// secrets the restore writes under the new namespace.
pub fn make_new_install(file: &Path, install_id: &str) -> Result<()> {
    let conn = Connection::open(file)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let n = conn.execute(
        "UPDATE install SET install_id = ?1, keychain_namespace = ?1, upgraded = 0 WHERE id = 1",
        [install_id],
    )?;
    if n != 1 {
        return Err(Error::Database(
            "the backup's database has no install record".into(),
        ));
    }
    // The jobs ran in another process, on another computer.
    conn.execute("UPDATE jobs SET next_run_at = NULL", [])?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// backups

/// One backup attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupRow {
    pub at: i64,
    pub scheduled: bool,
    pub ok: bool,
    pub path: Option<String>,
    pub bytes: Option<i64>,
    pub sha256: Option<String>,
    pub error: Option<String>,
}

impl BackupRow {
    /// A failed attempt, with its error in words.
    pub fn failed(at: i64, scheduled: bool, error: String) -> BackupRow {
        BackupRow {
            at,
            scheduled,
            ok: false,
            path: None,
            bytes: None,
            sha256: None,
            error: Some(error),
        }
    }
}

/// Rows kept in `backups`: the history the Dashboard needs, not every attempt forever.
const HISTORY_KEPT: i64 = 500;

pub fn record(conn: &Connection, row: &BackupRow) -> Result<()> {
    conn.execute(
        "INSERT INTO backups (at, trigger, ok, path, bytes, sha256, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            row.at,
            if row.scheduled { "scheduled" } else { "manual" },
            row.ok,
            row.path,
            row.bytes,
            row.sha256,
            row.error
        ],
    )?;
    conn.execute(
        "DELETE FROM backups WHERE id <= (SELECT max(id) FROM backups) - ?1",
        [HISTORY_KEPT],
    )?;
    Ok(())
}

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<BackupRow> {
    Ok(BackupRow {
        at: r.get(0)?,
        scheduled: r.get::<_, String>(1)? == "scheduled",
        ok: r.get(2)?,
        path: r.get(3)?,
        bytes: r.get(4)?,
        sha256: r.get(5)?,
        error: r.get(6)?,
    })
}

const COLS: &str = "at, trigger, ok, path, bytes, sha256, error";

/// The newest attempt, and the newest good one.
pub fn latest(conn: &Connection) -> Result<(Option<BackupRow>, Option<BackupRow>)> {
    let last = conn
        .query_row(
            &format!("SELECT {COLS} FROM backups ORDER BY id DESC LIMIT 1"),
            [],
            from_row,
        )
        .optional()?;
    let good = conn
        .query_row(
            &format!("SELECT {COLS} FROM backups WHERE ok = 1 ORDER BY id DESC LIMIT 1"),
            [],
            from_row,
        )
        .optional()?;
    Ok((last, good))
}

/// Failed attempts of the schedule since its last good one.
pub fn scheduled_failures_in_a_row(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM backups WHERE trigger = 'scheduled' AND ok = 0
           AND id > coalesce((SELECT max(id) FROM backups WHERE trigger = 'scheduled' AND ok = 1), 0)",
        [],
        |r| r.get(0),
    )?)
}

/// When the schedule last made a good backup.
pub fn last_scheduled_ok_at(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT max(at) FROM backups WHERE trigger = 'scheduled' AND ok = 1",
        [],
        |r| r.get(0),
    )?)
}

/// The files the schedule wrote that are still there, newest first: (row id, path).
pub fn scheduled_files(conn: &Connection) -> Result<Vec<(i64, String)>> {
    let mut stmt = conn.prepare(
        "SELECT id, path FROM backups
         WHERE trigger = 'scheduled' AND ok = 1 AND path IS NOT NULL ORDER BY id DESC",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The file of attempt `id` was removed (the schedule keeps the last N).
pub fn forget_file(conn: &Connection, id: i64) -> Result<()> {
    conn.execute("UPDATE backups SET path = NULL WHERE id = ?1", [id])?;
    Ok(())
}
