//! Queries on `requests`, `erasure_runs`, `suppressions` and `retained_records`, and the
//! erasure's local deletes (see `crate::requests`).

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use ts_rs::TS;

use crate::error::{Error, Result};

/// What the subject asks for. Rectification and portability are recorded and tracked; only
/// access and erasure have workflows so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(rename = "RequestKind")]
pub enum Kind {
    Access,
    Erasure,
    Rectification,
    Portability,
}

text_enum!(Kind {
    Access => "access",
    Erasure => "erasure",
    Rectification => "rectification",
    Portability => "portability",
});

impl Kind {
    pub fn parse(s: &str) -> Result<Kind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "access" => Ok(Kind::Access),
            "erasure" | "deletion" => Ok(Kind::Erasure),
            "rectification" => Ok(Kind::Rectification),
            "portability" => Ok(Kind::Portability),
            _ => Err(Error::invalid(format!(
                "unknown request kind '{s}': use access or erasure"
            ))),
        }
    }
}

/// Where a request stands, from received to completed or rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(rename = "RequestStatus")]
pub enum Status {
    Received,
    IdentityVerified,
    InProgress,
    Completed,
    Rejected,
}

text_enum!(Status {
    Received => "received",
    IdentityVerified => "identity_verified",
    InProgress => "in_progress",
    Completed => "completed",
    Rejected => "rejected",
});

impl Status {
    /// Completed or rejected: nothing more may change.
    pub(crate) fn is_closed(self) -> bool {
        matches!(self, Status::Completed | Status::Rejected)
    }
}

#[derive(Debug, Clone)]
pub struct RequestRow {
    pub id: i64,
    pub kind: Kind,
    pub email: Option<String>,
    pub subject_hash: String,
    pub regime: String,
    pub received_at: i64,
    pub due_at: i64,
    pub extended_at: Option<i64>,
    pub extension_reason: Option<String>,
    pub status: Status,
    pub identity_method: Option<String>,
    pub identity_verified_at: Option<i64>,
    pub notes: String,
    pub completed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLS: &str = "id, kind, email, subject_hash, regime, received_at, due_at, extended_at,
    extension_reason, status, identity_method, identity_verified_at, notes, completed_at,
    created_at, updated_at";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<RequestRow> {
    Ok(RequestRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        email: r.get(2)?,
        subject_hash: r.get(3)?,
        regime: r.get(4)?,
        received_at: r.get(5)?,
        due_at: r.get(6)?,
        extended_at: r.get(7)?,
        extension_reason: r.get(8)?,
        status: r.get(9)?,
        identity_method: r.get(10)?,
        identity_verified_at: r.get(11)?,
        notes: r.get(12)?,
        completed_at: r.get(13)?,
        created_at: r.get(14)?,
        updated_at: r.get(15)?,
    })
}

pub struct NewRequest<'a> {
    pub kind: &'a str,
    pub email: &'a str,
    pub subject_hash: &'a str,
    pub regime: &'a str,
    pub received_at: i64,
    pub due_at: i64,
    pub now: i64,
}

pub fn insert(conn: &Connection, r: &NewRequest) -> Result<i64> {
    conn.execute(
        "INSERT INTO requests (kind, email, subject_hash, regime, received_at, due_at, status,
             created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'received', ?7, ?7)",
        params![
            r.kind,
            r.email,
            r.subject_hash,
            r.regime,
            r.received_at,
            r.due_at,
            r.now
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<RequestRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLS} FROM requests WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// Open requests first, by due date; then closed ones, newest first.
pub fn list(conn: &Connection) -> Result<Vec<RequestRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM requests
         ORDER BY status IN ('completed', 'rejected'), CASE WHEN status IN ('completed', 'rejected')
             THEN -coalesce(completed_at, updated_at) ELSE due_at END, id"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn by_subject_hash(conn: &Connection, hash: &str) -> Result<Vec<RequestRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM requests WHERE subject_hash = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([hash], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn set_status(conn: &Connection, id: i64, status: Status, now: i64) -> Result<()> {
    let done = status.is_closed();
    conn.execute(
        "UPDATE requests SET status = ?2, updated_at = ?3,
             completed_at = CASE WHEN ?4 THEN ?3 ELSE NULL END
         WHERE id = ?1",
        params![id, status, now, done],
    )?;
    Ok(())
}

pub(crate) fn set_extension(
    conn: &Connection,
    id: i64,
    due_at: i64,
    reason: &str,
    now: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE requests SET due_at = ?2, extended_at = ?4, extension_reason = ?3, updated_at = ?4
         WHERE id = ?1",
        params![id, due_at, reason, now],
    )?;
    Ok(())
}

pub(crate) fn set_identity(conn: &Connection, id: i64, method: &str, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE requests SET identity_method = ?2, identity_verified_at = ?3, updated_at = ?3,
             status = CASE WHEN status = 'received' THEN 'identity_verified' ELSE status END
         WHERE id = ?1",
        params![id, method, now],
    )?;
    Ok(())
}

pub fn add_note(conn: &Connection, id: i64, line: &str, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE requests SET notes = CASE WHEN notes = '' THEN ?2 ELSE notes || char(10) || ?2 END,
             updated_at = ?3 WHERE id = ?1",
        params![id, line, now],
    )?;
    Ok(())
}

/// Replaces the email by the keyed hash alone on every request about an erased subject.
pub(crate) fn forget_email(conn: &Connection, subject_hash: &str, now: i64) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE requests SET email = NULL, updated_at = ?2
         WHERE subject_hash = ?1 AND email IS NOT NULL",
        params![subject_hash, now],
    )?)
}

/// Rewrites the free text (notes, extension reason, identity method) of every request about
/// the subject with `f`; returns how many requests changed.
pub(crate) fn rewrite_free_text(
    conn: &Connection,
    subject_hash: &str,
    f: impl Fn(&str) -> String,
    now: i64,
) -> Result<usize> {
    let rows: Vec<(i64, String, Option<String>, Option<String>)> = conn
        .prepare_cached(
            "SELECT id, notes, extension_reason, identity_method FROM requests
             WHERE subject_hash = ?1",
        )?
        .query_map([subject_hash], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut changed = 0;
    for (id, notes, reason, method) in rows {
        let (n, r, m) = (
            f(&notes),
            reason.as_deref().map(&f),
            method.as_deref().map(&f),
        );
        if n != notes || r != reason || m != method {
            conn.execute(
                "UPDATE requests SET notes = ?2, extension_reason = ?3, identity_method = ?4,
                     updated_at = ?5 WHERE id = ?1",
                params![id, n, r, m, now],
            )?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Records that the reminder (request, due date, threshold) was shown; false when it had been.
pub(crate) fn mark_reminder_shown(
    conn: &Connection,
    request_id: i64,
    due_at: i64,
    threshold: i64,
    now: i64,
) -> Result<bool> {
    Ok(conn.execute(
        "INSERT OR IGNORE INTO reminders_shown (request_id, due_at, threshold, shown_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![request_id, due_at, threshold, now],
    )? == 1)
}

// ---------------------------------------------------------------------------------------------
// Erasure runs

pub(crate) fn run_state(conn: &Connection, request_id: i64) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT state FROM erasure_runs WHERE request_id = ?1",
            [request_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// Every erasure run: (request id, state).
pub(crate) fn run_states(conn: &Connection) -> Result<Vec<(i64, String)>> {
    let mut st = conn.prepare("SELECT request_id, state FROM erasure_runs ORDER BY request_id")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn save_run_state(
    conn: &Connection,
    request_id: i64,
    state: &str,
    now: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO erasure_runs (request_id, state, started_at, updated_at) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (request_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        params![request_id, state, now],
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Suppressions

pub(crate) fn any_suppression(conn: &Connection) -> Result<bool> {
    // Asked for every stored event: a cached statement, not a fresh parse each time.
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM suppressions)")?
        .query_row([], |r| r.get(0))?)
}

pub(crate) fn is_suppressed(conn: &Connection, hash: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM suppressions WHERE hash = ?1)")?
        .query_row([hash], |r| r.get(0))?)
}

pub fn suppress(conn: &Connection, hash: &str, request_id: i64, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO suppressions (hash, request_id, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (hash) DO NOTHING",
        params![hash, request_id, now],
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// A subject's events, for access packages and erasure

/// An event about a subject, with its minimised payload.
#[derive(Debug, Clone)]
pub(crate) struct SubjectEvent {
    pub id: i64,
    pub processor_id: i64,
    pub source: String,
    pub event_id: String,
    pub event_type: String,
    pub occurred_at: i64,
    pub received_at: i64,
    pub object_id: Option<String>,
    pub customer_ref: Option<String>,
    pub data: String,
}

/// Events linked to `subject_id`, or naming one of `customers` (processor, customer id),
/// or carrying one of `emails` as their subject email; oldest first. Every part is a range
/// of an index on the subject (`events_by_subject`, `events_by_customer`,
/// `events_by_orphan_email`): the cost grows with the subject's events, not with the log.
///
/// An event's `subject_email` is its subject's address when it was linked, and a subject
/// keeps every address it had (`subject_emails`, each address one subject's) until it is
/// deleted, which sets the events' `subject_id` to NULL. So the events carrying an email are
/// the owner's events with it, and the orphaned events with it.
pub(crate) fn subject_events(
    conn: &Connection,
    subject_id: Option<i64>,
    customers: &[(i64, String)],
    emails: &[String],
) -> Result<Vec<SubjectEvent>> {
    let mut ids: std::collections::BTreeSet<i64> = Default::default();
    let mut add = |sql: &str, args: &[&dyn rusqlite::ToSql]| -> Result<()> {
        let mut st = conn.prepare_cached(sql)?;
        for r in st.query_map(args, |r| r.get(0))? {
            ids.insert(r?);
        }
        Ok(())
    };
    if let Some(s) = subject_id {
        add(SUBJECT_EVENTS_BY_SUBJECT, &[&s])?;
    }
    for (p, c) in customers {
        add(SUBJECT_EVENTS_BY_CUSTOMER, &[p, c])?;
    }
    for e in emails {
        let owner = super::subjects::id_by_email(conn, e)?;
        if let Some(o) = owner.filter(|o| Some(*o) != subject_id) {
            add(SUBJECT_EVENTS_BY_OWNER_EMAIL, &[&o, e])?;
        }
        add(SUBJECT_EVENTS_BY_ORPHAN_EMAIL, &[e])?;
    }
    let mut st = conn.prepare_cached(&format!(
        "SELECT id, processor_id, source, event_id, event_type, occurred_at, received_at, {}
         FROM events WHERE id = ?1",
        super::payload::COLUMNS
    ))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(st.query_row([id], |r| {
            Ok(SubjectEvent {
                id: r.get(0)?,
                processor_id: r.get(1)?,
                source: r.get(2)?,
                event_id: r.get(3)?,
                event_type: r.get(4)?,
                occurred_at: r.get(5)?,
                received_at: r.get(6)?,
                object_id: r.get(7)?,
                customer_ref: r.get(8)?,
                data: super::payload::read(r, 7)?,
            })
        })?);
    }
    out.sort_by_key(|e| (e.occurred_at, e.id));
    Ok(out)
}

/// The queries of [`subject_events`] (their plans are checked in the tests).
pub(super) const SUBJECT_EVENTS_BY_SUBJECT: &str = "SELECT id FROM events WHERE subject_id = ?1";
pub(super) const SUBJECT_EVENTS_BY_CUSTOMER: &str =
    "SELECT id FROM events WHERE processor_id = ?1 AND customer_ref = ?2";
pub(super) const SUBJECT_EVENTS_BY_OWNER_EMAIL: &str =
    "SELECT id FROM events WHERE subject_id = ?1 AND subject_email = ?2";
pub(super) const SUBJECT_EVENTS_BY_ORPHAN_EMAIL: &str =
    "SELECT id FROM events WHERE subject_email = ?1 AND subject_id IS NULL";

pub(crate) fn delete_event(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM events WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Deletes the subject; its email history and external ids go with it (ON DELETE CASCADE).
pub(crate) fn delete_subject(conn: &Connection, subject_id: i64) -> Result<()> {
    conn.execute(
        "DELETE FROM subject_emails WHERE subject_id = ?1",
        [subject_id],
    )?;
    conn.execute(
        "DELETE FROM external_ids WHERE subject_id = ?1",
        [subject_id],
    )?;
    conn.execute("DELETE FROM subjects WHERE id = ?1", [subject_id])?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Retained financial records

#[derive(Debug, Clone)]
pub struct RetainedRow {
    pub request_id: Option<i64>,
    pub subject_hash: String,
    pub processor_id: Option<i64>,
    pub event_id: String,
    pub event_type: String,
    pub object_id: Option<String>,
    pub customer_ref: Option<String>,
    pub occurred_at: i64,
    pub fields: String,
    pub legal_basis: String,
    pub retain_until: i64,
}

pub fn insert_retained(conn: &Connection, r: &RetainedRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO retained_records (request_id, subject_hash, processor_id, event_id,
             event_type, object_id, customer_ref, occurred_at, fields, legal_basis, retain_until)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        r.request_id,
        r.subject_hash,
        r.processor_id,
        r.event_id,
        r.event_type,
        r.object_id,
        r.customer_ref,
        r.occurred_at,
        r.fields,
        r.legal_basis,
        r.retain_until
    ])?;
    Ok(())
}

/// Deletes retained records whose retention ended before `now`.
pub(crate) fn purge_retained(conn: &Connection, now: i64) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM retained_records WHERE retain_until < ?1",
        [now],
    )?)
}

// ---------------------------------------------------------------------------------------------
// Files

/// Copies the WAL into the database and truncates it, so that deleted rows survive in no
/// file (with `secure_delete` the freed pages are zeroed). Uses a connection of its own: a
/// checkpoint cannot run inside the writer's transactions.
/// Copies the write-ahead log into the database and truncates it to zero bytes
/// (`wal_checkpoint(TRUNCATE)`, `secure_delete` on): afterwards the WAL holds no page of what
/// was deleted. `false` when another connection's read kept it from finishing (waits up to
/// `wait` for it first).
pub fn checkpoint(db_path: &std::path::Path, wait: std::time::Duration) -> Result<bool> {
    let conn = Connection::open(db_path)?;
    conn.busy_timeout(wait)?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    let done = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        Ok(r.get::<_, i64>(0)? == 0 && r.get::<_, i64>(1)? == 0)
    });
    match done {
        Ok(done) => Ok(done),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}
