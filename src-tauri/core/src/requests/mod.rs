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
pub mod steps;

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
pub use steps::{NextStep, StepKey};

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

/// A request's page: the request, its steps (its audit entries) and the step due now.
#[derive(Debug, Clone, Serialize, TS)]
pub struct RequestPage {
    #[serde(flatten)]
    pub request: Request,
    pub steps: Vec<audit::AuditEntry>,
    /// The step due now ([`steps::next_step`]): the page's primary action.
    pub next_step: NextStep,
    /// Completing the request now is closing it early: `complete` needs a reason.
    pub closing_needs_reason: bool,
    /// An access package built now needs the reason for building it without a verified
    /// identity (none is recorded yet).
    pub identity_override_needed: bool,
}

pub fn page(ctx: &Context, id: i64) -> Result<RequestPage> {
    let r = row(ctx, id)?;
    let entries = audit::list(ctx, Some(id))?;
    let next = steps::next_step(&steps::facts(&r, &entries, erasure::run_facts(ctx, id)?));
    Ok(RequestPage {
        closing_needs_reason: !r.status.is_closed() && !next.key.answers(),
        identity_override_needed: override_needed(&r, &entries),
        next_step: next,
        request: view(r, today()),
        steps: entries,
    })
}

/// The step request `id` waits for now.
pub fn next_step(ctx: &Context, id: i64) -> Result<NextStep> {
    let r = row(ctx, id)?;
    let entries = audit::list(ctx, Some(id))?;
    Ok(steps::next_step(&steps::facts(
        &r,
        &entries,
        erasure::run_facts(ctx, id)?,
    )))
}

/// The longest reason kept in the audit trail (a sentence or two).
const REASON_MAX_CHARS: usize = 300;

/// A reason as the audit trail keeps it: on one line, at most [`REASON_MAX_CHARS`], and
/// without the subject's email addresses or name (the trail cannot be rewritten after an
/// erasure, so they are taken out before it is written).
pub(crate) fn trail_reason(ctx: &Context, r: &q::RequestRow, text: &str) -> Result<String> {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut clean = erasure::without_personal_data(ctx, r)?(&one_line);
    if let Some((cut, _)) = clean.char_indices().nth(REASON_MAX_CHARS) {
        clean.truncate(cut);
        clean.push('…');
    }
    Ok(clean)
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

/// Marks the request answered. When its next step does not answer it (the package is not
/// built yet, the erasure has not run…), this closes it early and needs `reason` ("answered
/// outside Privacy Desk", "withdrawn by the person"…): it becomes a note on the request, and
/// the audit entry records it with the step that was due.
pub fn complete(ctx: &Context, id: i64, reason: Option<&str>) -> Result<Request> {
    let r = open_row(ctx, id)?;
    let due = next_step(ctx, id)?;
    let reason = reason.map(str::trim).filter(|t| !t.is_empty());
    let (entry, note) = match reason {
        None if !due.key.answers() => {
            return Err(Error::ReasonRequired(format!(
                "request {id} is not done yet (next step: {}): to close it now, give the \
                 reason (--reason), e.g. \"answered outside Privacy Desk\" or \"withdrawn by \
                 the person\"",
                due.label.to_lowercase()
            )))
        }
        None => (Entry::new(audit::USER, "request.completed"), None),
        Some(text) => {
            let early = !due.key.answers();
            let entry = Entry::new(audit::USER, "request.completed").details(json!({
                "closed_early": early,
                "due_step": due.key.as_str(),
                "reason": trail_reason(ctx, &r, text)?,
            }));
            let note = if early {
                format!("Closed before \"{}\" was done: {text}", due.label)
            } else {
                format!("Answered: {text}")
            };
            (entry, Some(note))
        }
    };
    update(ctx, id, entry, move |c, now| {
        if let Some(note) = &note {
            q::add_note(c, id, note, now)?;
        }
        q::set_status(c, id, Status::Completed, now)
    })
}

/// An access package for request `r` needs a recorded override: its identity is not verified
/// and no `access.identity_override` is in its `entries`.
fn override_needed(r: &q::RequestRow, entries: &[audit::AuditEntry]) -> bool {
    matches!(r.kind, Kind::Access | Kind::Portability)
        && r.email.is_some()
        && r.identity_verified_at.is_none()
        && !entries.iter().any(|e| e.action == IDENTITY_OVERRIDE)
}

const IDENTITY_OVERRIDE: &str = "access.identity_override";

/// Whether building request `id`'s access package needs [`override_identity`] first.
pub fn identity_override_needed(ctx: &Context, id: i64) -> Result<bool> {
    let r = row(ctx, id)?;
    Ok(override_needed(&r, &audit::list(ctx, Some(id))?))
}

/// Records the decision to build request `id`'s access package although the requester's
/// identity is not verified, with its reason (`access.identity_override`). Nothing to record
/// (no entry) when the identity is verified or an override is recorded already.
pub fn override_identity(ctx: &Context, id: i64, reason: &str) -> Result<()> {
    let r = row(ctx, id)?;
    if !matches!(r.kind, Kind::Access | Kind::Portability) {
        return Err(Error::invalid(format!(
            "request {id} is an {} request: only access packages are built",
            r.kind
        )));
    }
    if reason.trim().is_empty() {
        return Err(Error::ReasonRequired(
            "say why the package is built without a verified identity".into(),
        ));
    }
    if !override_needed(&r, &audit::list(ctx, Some(id))?) {
        return Ok(());
    }
    let reason = trail_reason(ctx, &r, reason)?;
    audit::record(
        ctx,
        Entry::new(audit::USER, IDENTITY_OVERRIDE)
            .request(id)
            .subject(&r.subject_hash)
            .details(json!({ "reason": reason })),
    )?;
    Ok(())
}

/// The guard of [`access::build`]: an unverified identity needs a recorded override.
pub(crate) fn require_identity_or_override(ctx: &Context, r: &q::RequestRow) -> Result<()> {
    if override_needed(r, &audit::list(ctx, Some(r.id))?) {
        return Err(Error::ReasonRequired(format!(
            "the identity of the requester of request {} is not verified: verify it first, or \
             give the reason for building the package anyway (--unverified-reason)",
            r.id
        )));
    }
    Ok(())
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

    fn new_request(ctx: &Context, kind: Kind, email: &str) -> i64 {
        create(
            ctx,
            NewRequest {
                kind,
                email: email.into(),
                regime: Regime::Gdpr,
                received: None,
            },
        )
        .unwrap()
        .id
    }

    fn last_entry(ctx: &Context, id: i64) -> audit::AuditEntry {
        audit::list(ctx, Some(id)).unwrap().pop().unwrap()
    }

    /// Closing a request before its due step needs a reason; it becomes a note and is in the
    /// audit entry with the step that was due, without the subject's email or name.
    #[test]
    fn closing_early_needs_a_reason_and_records_it() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::open_in_memory_keychain(dir.path()).unwrap();
        let id = new_request(&ctx, Kind::Access, "bea.lind@example.com");
        let p = page(&ctx, id).unwrap();
        assert_eq!(p.next_step.key, StepKey::VerifyIdentity);
        assert!(p.closing_needs_reason);

        for reason in [None, Some("  ")] {
            let e = complete(&ctx, id, reason).unwrap_err();
            assert!(matches!(e, Error::ReasonRequired(_)), "{e}");
            assert_eq!(e.code(), "reason_required");
            assert_eq!(e.exit_code(), 2);
        }
        assert_eq!(show(&ctx, id).unwrap().status, Status::Received);

        let done = complete(
            &ctx,
            id,
            Some("withdrawn by the person: bea.lind@example.com wrote back"),
        )
        .unwrap();
        assert_eq!(done.status, Status::Completed);
        assert!(
            done.notes
                .starts_with("Closed before \"Verify identity\" was done: withdrawn"),
            "{}",
            done.notes
        );
        let e = last_entry(&ctx, id);
        assert_eq!(e.action, "request.completed");
        assert_eq!(e.details["closed_early"], true);
        assert_eq!(e.details["due_step"], "verify_identity");
        assert_eq!(
            e.details["reason"],
            "withdrawn by the person: [the person] wrote back"
        );
        let p = page(&ctx, id).unwrap();
        assert_eq!(p.next_step.key, StepKey::None);
        assert!(!p.closing_needs_reason);
    }

    /// Rejecting needs a reason too.
    #[test]
    fn rejecting_needs_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::open_in_memory_keychain(dir.path()).unwrap();
        let id = new_request(&ctx, Kind::Erasure, "cy@example.com");
        assert!(matches!(reject(&ctx, id, " "), Err(Error::InvalidInput(_))));
        assert_eq!(
            reject(&ctx, id, "identity not established").unwrap().status,
            Status::Rejected
        );
    }

    /// An access package for an unverified identity needs the override's reason, recorded
    /// once; the package built, sending it is due and closes the request without a reason.
    #[test]
    fn an_unverified_access_package_needs_an_override_reason() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::open_in_memory_keychain(dir.path()).unwrap();
        let id = new_request(&ctx, Kind::Access, "dev.ray@example.com");
        let out = dir.path().join("out");
        assert!(page(&ctx, id).unwrap().identity_override_needed);
        let e = access::build(&ctx, id, &out, &mut |_| {}).unwrap_err();
        assert!(matches!(e, Error::ReasonRequired(_)), "{e}");
        assert!(!out.join(format!("access-request-{id}.zip")).exists());
        assert!(matches!(
            override_identity(&ctx, id, " "),
            Err(Error::ReasonRequired(_))
        ));

        // Only what the app knows of the person (here the email) can be taken out.
        override_identity(
            &ctx,
            id,
            "asked from DEV.RAY@example.com by phone;\n statutory deadline",
        )
        .unwrap();
        let e = last_entry(&ctx, id);
        assert_eq!(e.action, "access.identity_override");
        assert_eq!(
            e.details["reason"],
            "asked from [the person] by phone; statutory deadline"
        );
        assert!(!identity_override_needed(&ctx, id).unwrap());
        // Once is enough: no second entry.
        override_identity(&ctx, id, "again").unwrap();
        assert_eq!(last_entry(&ctx, id).action, "access.identity_override");
        assert_eq!(
            audit::list(&ctx, Some(id))
                .unwrap()
                .iter()
                .filter(|e| e.action == "access.identity_override")
                .count(),
            1
        );

        access::build(&ctx, id, &out, &mut |_| {}).unwrap();
        let p = page(&ctx, id).unwrap();
        assert_eq!(p.next_step.key, StepKey::ReviewPackage);
        assert!(
            p.closing_needs_reason,
            "an unreviewed package is not an answer yet"
        );
        access::review::release(&ctx, id, None).unwrap();
        let p = page(&ctx, id).unwrap();
        assert_eq!(p.next_step.key, StepKey::SendPackage);
        assert!(!p.closing_needs_reason);
        assert_eq!(complete(&ctx, id, None).unwrap().status, Status::Completed);
        assert_eq!(last_entry(&ctx, id).details, json!({}));
    }

    /// A verified identity needs no override, and nothing is recorded.
    #[test]
    fn a_verified_identity_needs_no_override() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::open_in_memory_keychain(dir.path()).unwrap();
        let id = new_request(&ctx, Kind::Access, "eve@example.com");
        verify_identity(&ctx, id, "reply from the account email").unwrap();
        let p = page(&ctx, id).unwrap();
        assert_eq!(p.next_step.key, StepKey::BuildPackage);
        assert!(!p.identity_override_needed);
        override_identity(&ctx, id, "not needed").unwrap();
        assert_eq!(last_entry(&ctx, id).action, "request.identity_verified");
        access::build(&ctx, id, &dir.path().join("out"), &mut |_| {}).unwrap();
        assert_eq!(next_step(&ctx, id).unwrap().key, StepKey::ReviewPackage);
    }
}
