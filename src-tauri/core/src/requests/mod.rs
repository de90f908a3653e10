//! Data subject requests (GDPR Art. 15 and 17, UK GDPR, CCPA): the inbox, deadlines, identity
//! verification, extensions, and the two workflows, [`access`] (the access package) and
//! [`erasure`] (plan, then a resumable execution). Every change is recorded in the audit
//! trail ([`crate::audit`]) in the same transaction.
//!
//! A request names its subject by email while the subject exists; after an erasure only the
//! subject's keyed hash (`sh_…`) remains, in the request, the audit trail and the suppression
//! list.

pub mod access;
pub mod deadlines;
pub mod erasure;
#[cfg(test)]
mod hostile;

use chrono::{NaiveDate, TimeZone, Utc};
use serde::Serialize;
use serde_json::json;
use ts_rs::TS;

use crate::audit::{self, Entry};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::ingest::model::normalise_email;
use crate::store::requests as q;
pub use crate::store::requests::{Kind, Status};
use crate::time::{now_ms, parse_time, to_rfc3339, DayEdge};
pub use deadlines::Regime;

/// A request as the CLI (`--json`) and the screens show it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Request {
    pub id: i64,
    pub kind: Kind,
    /// The subject's email; after the subject was erased, its keyed hash (`sh_…`).
    pub email: String,
    /// The subject's keyed hash.
    pub subject: String,
    /// The subject was erased: `email` holds the keyed hash.
    pub erased: bool,
    pub regime: String,
    pub received_at: String,
    /// The start (UTC) of the day the answer is due.
    pub due_at: String,
    /// Calendar days left until the due day (negative when overdue).
    pub days_left: i64,
    /// Open and past its due day.
    pub overdue: bool,
    /// Whether the deadline may be extended today, until when, or why not.
    pub extension: deadlines::Extension,
    pub status: Status,
    pub extended: bool,
    pub extension_reason: Option<String>,
    pub identity_method: Option<String>,
    pub identity_verified_at: Option<String>,
    pub notes: String,
    pub completed_at: Option<String>,
    pub created_at: String,
}

fn date_of(ms: i64) -> NaiveDate {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or_default()
        .date_naive()
}

fn start_of(d: NaiveDate) -> i64 {
    Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN))
        .timestamp_millis()
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

pub(crate) fn view(r: q::RequestRow, today: NaiveDate) -> Request {
    let days_left = deadlines::days_left(date_of(r.due_at), today);
    let closed = r.status.is_closed();
    let extension = match Regime::parse(&r.regime) {
        _ if closed => deadlines::Extension::refused(format!("this request is {}", r.status)),
        Ok(regime) => deadlines::extension(
            regime,
            date_of(r.received_at),
            today,
            r.extended_at.is_some(),
        ),
        Err(e) => deadlines::Extension::refused(e.to_string()),
    };
    Request {
        id: r.id,
        kind: r.kind,
        erased: r.email.is_none(),
        email: r.email.unwrap_or_else(|| r.subject_hash.clone()),
        subject: r.subject_hash,
        regime: r.regime,
        received_at: to_rfc3339(r.received_at),
        due_at: to_rfc3339(r.due_at),
        days_left,
        overdue: !closed && days_left < 0,
        extension,
        status: r.status,
        extended: r.extended_at.is_some(),
        extension_reason: r.extension_reason,
        identity_method: r.identity_method,
        identity_verified_at: r.identity_verified_at.map(to_rfc3339),
        notes: r.notes,
        completed_at: r.completed_at.map(to_rfc3339),
        created_at: to_rfc3339(r.created_at),
    }
}

pub(crate) fn row(ctx: &Context, id: i64) -> Result<q::RequestRow> {
    ctx.db.read(|c| q::get(c, id))?.ok_or_else(|| {
        Error::not_found(format!(
            "no request with id {id}: `privacy-desk dsr list` shows them"
        ))
    })
}

fn open_row(ctx: &Context, id: i64) -> Result<q::RequestRow> {
    let r = row(ctx, id)?;
    if r.status.is_closed() {
        return Err(Error::Blocked(format!(
            "request {id} is {} already",
            r.status
        )));
    }
    Ok(r)
}

/// The input of [`create`].
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub kind: Kind,
    pub email: String,
    pub regime: Regime,
    /// RFC 3339 or `YYYY-MM-DD`; today when `None`.
    pub received: Option<String>,
}

/// Records a new request. An email the app holds nothing about is accepted: the answer is
/// then that nothing is held.
pub fn create(ctx: &Context, n: NewRequest) -> Result<Request> {
    let email = normalise_email(&n.email)
        .ok_or_else(|| Error::invalid("--email is not an email address"))?;
    let now = now_ms();
    let received_at = match &n.received {
        Some(s) => parse_time(s, DayEdge::Start)?,
        None => now,
    };
    if received_at > now + 60_000 {
        return Err(Error::invalid("--received is in the future"));
    }
    let due = deadlines::due(n.regime, date_of(received_at));
    let key = ctx.keychain.hash_key()?;
    let hash = key.subject(&email);
    let (kind, regime) = (n.kind, n.regime);
    let id = ctx.db.write(move |c| {
        let id = q::insert(
            c,
            &q::NewRequest {
                kind: kind.as_str(),
                email: &email,
                subject_hash: &hash,
                regime: regime.as_str(),
                received_at,
                due_at: start_of(due),
                now,
            },
        )?;
        audit::append(
            c,
            &key,
            &Entry::new(audit::USER, "request.created")
                .request(id)
                .subject(&hash)
                .details(json!({
                    "kind": kind.as_str(),
                    "regime": regime.as_str(),
                    "received_at": to_rfc3339(received_at),
                    "due_at": to_rfc3339(start_of(due)),
                })),
            now,
        )?;
        Ok(id)
    })?;
    show(ctx, id)
}

/// The inbox: open requests by days left, then closed ones.
pub fn list(ctx: &Context) -> Result<Vec<Request>> {
    let t = today();
    Ok(ctx
        .db
        .read(q::list)?
        .into_iter()
        .map(|r| view(r, t))
        .collect())
}

/// The requests of data subject `subject_id`: those under any email the subject had, newest
/// first (the subject's page lists them beside the offer of a new one).
pub fn for_subject(ctx: &Context, subject_id: i64) -> Result<Vec<Request>> {
    let emails: Vec<String> = ctx.db.read(|c| {
        Ok(crate::store::subjects::emails(c, subject_id)?
            .into_iter()
            .filter_map(|e| normalise_email(&e.email))
            .collect())
    })?;
    let mut mine: Vec<Request> = list(ctx)?
        .into_iter()
        .filter(|r| !r.erased && normalise_email(&r.email).is_some_and(|e| emails.contains(&e)))
        .collect();
    mine.sort_by_key(|r| std::cmp::Reverse(r.id));
    Ok(mine)
}

pub fn show(ctx: &Context, id: i64) -> Result<Request> {
    Ok(view(row(ctx, id)?, today()))
}

/// A request's page: the request and its steps (its audit entries).
#[derive(Debug, Clone, Serialize, TS)]
pub struct RequestPage {
    #[serde(flatten)]
    pub request: Request,
    pub steps: Vec<audit::AuditEntry>,
}

pub fn page(ctx: &Context, id: i64) -> Result<RequestPage> {
    Ok(RequestPage {
        request: show(ctx, id)?,
        steps: audit::list(ctx, Some(id))?,
    })
}

/// Runs `change` on an open request and records `entry` with it.
fn update(
    ctx: &Context,
    id: i64,
    entry: Entry,
    change: impl FnOnce(&crate::store::Connection, i64) -> Result<()> + Send + 'static,
) -> Result<Request> {
    let r = open_row(ctx, id)?;
    let key = ctx.keychain.hash_key()?;
    let entry = entry.request(id).subject(&r.subject_hash);
    ctx.db.write(move |c| {
        let now = now_ms();
        change(c, now)?;
        audit::append(c, &key, &entry, now)?;
        Ok(())
    })?;
    show(ctx, id)
}

/// Extends the deadline (once, with a reason, only while the first period runs).
pub fn extend(ctx: &Context, id: i64, reason: &str) -> Result<Request> {
    let reason = reason.trim().to_owned();
    if reason.is_empty() {
        return Err(Error::invalid(
            "give the reason for the extension (--reason): the data subject must be told it",
        ));
    }
    let r = open_row(ctx, id)?;
    let regime = Regime::parse(&r.regime)?;
    let new_due = deadlines::may_extend(
        regime,
        date_of(r.received_at),
        today(),
        r.extended_at.is_some(),
    )?;
    let due_ms = start_of(new_due);
    update(
        ctx,
        id,
        Entry::new(audit::USER, "request.extended").details(json!({
            "previous_due_at": to_rfc3339(r.due_at),
            "due_at": to_rfc3339(due_ms),
        })),
        move |c, now| q::set_extension(c, id, due_ms, &reason, now),
    )
}

/// Records how the requester's identity was verified.
pub fn verify_identity(ctx: &Context, id: i64, method: &str) -> Result<Request> {
    let method = method.trim().to_owned();
    if method.is_empty() {
        return Err(Error::invalid(
            "say how the identity was verified (--method), e.g. \"replied from the account email\"",
        ));
    }
    update(
        ctx,
        id,
        Entry::new(audit::USER, "request.identity_verified"),
        move |c, now| q::set_identity(c, id, &method, now),
    )
}

/// Adds a line to the request's notes.
pub fn add_note(ctx: &Context, id: i64, text: &str) -> Result<Request> {
    let text = text.trim().to_owned();
    if text.is_empty() {
        return Err(Error::invalid("the note is empty"));
    }
    update(
        ctx,
        id,
        Entry::new(audit::USER, "request.note_added"),
        move |c, now| q::add_note(c, id, &text, now),
    )
}

/// Rejects the request (manifestly unfounded or excessive, identity not established…).
pub fn reject(ctx: &Context, id: i64, reason: &str) -> Result<Request> {
    let reason = reason.trim().to_owned();
    if reason.is_empty() {
        return Err(Error::invalid(
            "give the reason for rejecting the request (--reason)",
        ));
    }
    update(
        ctx,
        id,
        Entry::new(audit::USER, "request.rejected"),
        move |c, now| {
            q::add_note(c, id, &format!("Rejected: {reason}"), now)?;
            q::set_status(c, id, Status::Rejected, now)
        },
    )
}

/// Marks the request answered.
pub fn complete(ctx: &Context, id: i64) -> Result<Request> {
    update(
        ctx,
        id,
        Entry::new(audit::USER, "request.completed"),
        move |c, now| q::set_status(c, id, Status::Completed, now),
    )
}

/// A desktop reminder: an open request due in 7 or 2 days, or overdue.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Reminder {
    pub request_id: i64,
    pub kind: Kind,
    pub days_left: i64,
    pub due_at: String,
}

/// The reminders to raise today (the app shows each once a day).
pub fn reminders(ctx: &Context) -> Result<Vec<Reminder>> {
    Ok(list(ctx)?
        .into_iter()
        .filter(|r| !r.status.is_closed() && matches!(r.days_left, 7 | 2 | i64::MIN..=-1))
        .map(|r| Reminder {
            request_id: r.id,
            kind: r.kind,
            days_left: r.days_left,
            due_at: r.due_at,
        })
        .collect())
}

/// The reminders not shown yet, marked shown: each (request, due date, threshold) once, across
/// restarts. The app raises a desktop notification for each.
pub fn take_new_reminders(ctx: &Context) -> Result<Vec<Reminder>> {
    let due = reminders(ctx)?;
    ctx.db.write(move |c| {
        let now = now_ms();
        let mut fresh = Vec::new();
        for r in due {
            let due_ms = parse_time(&r.due_at, DayEdge::Start)?;
            if q::mark_reminder_shown(c, r.request_id, due_ms, r.days_left.max(-1), now)? {
                fresh.push(r);
            }
        }
        Ok(fresh)
    })
}

/// Moves a request to `in_progress` (when a workflow starts), recording the step.
pub(crate) fn start_work(c: &crate::store::Connection, r: &q::RequestRow, now: i64) -> Result<()> {
    if matches!(r.status, Status::Received | Status::IdentityVerified) {
        q::set_status(c, r.id, Status::InProgress, now)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The subject's page lists the requests under any email the subject had, and only those.
    #[test]
    fn a_subjects_requests_are_those_under_its_emails() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::open_in_memory_keychain(dir.path()).unwrap();
        let ada = ctx
            .db
            .write(|c| crate::store::subjects::create(c, "ada@example.com", None, 1))
            .unwrap();
        let new = |kind, email: &str| {
            create(
                &ctx,
                NewRequest {
                    kind,
                    email: email.into(),
                    regime: Regime::Gdpr,
                    received: None,
                },
            )
            .unwrap()
            .id
        };
        let first = new(Kind::Access, "ada@example.com");
        new(Kind::Access, "bob@example.com");
        let second = new(Kind::Erasure, "ADA@Example.com");
        let ids: Vec<i64> = for_subject(&ctx, ada)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, [second, first]);
        assert!(for_subject(&ctx, ada + 1).unwrap().is_empty());
    }
}
