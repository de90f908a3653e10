//! Erasure (GDPR Art. 17, CCPA § 1798.105): a plan the officer reviews, then an execution that
//! is a persisted state machine.
//!
//! Steps, each committed with its audit entry before the next starts:
//! 1. `suppress` — keyed hashes of every email and customer id go into `suppressions`, so events
//!    arriving from now on are stored without personal data and not linked (`ingest::link`).
//! 2. `processor:<id>:<customer>` — per Stripe customer, `DELETE /v1/customers/{id}` with an
//!    idempotency key chosen when the run started (a resumed run repeats the same call, and
//!    Stripe replays its answer instead of acting twice); a 404 means it is gone already.
//!    `redaction:<processor>` — instead, for a processor set to redaction jobs
//!    (`stripe_sync::ErasureMethod`): one Stripe redaction job over the customer(s) and the
//!    payments, invoices and checkout sessions known locally. Created once (its id is committed
//!    before anything else happens), waited for while Stripe validates it; validation errors
//!    stop the run with what to fix, and the next run validates the job again; a ready job is
//!    run (irreversible), and the step is done once Stripe accepted the run.
//! 3. `local` — in one transaction: financial records are copied, pseudonymised, into
//!    `retained_records` (amounts, currency, dates, Stripe ids and the legal basis; no email,
//!    name or address) with their retention end; every event about the subject is deleted;
//!    the subject, its email history and external ids are deleted; requests keep the keyed
//!    hash only, and their free text (notes, reasons) loses the subject's email and name.
//! 4. `completed` — the WAL is checkpointed and truncated first (`secure_delete` zeroes freed
//!    pages), so no file in the data directory holds the email or name; only then is the
//!    request completed. A checkpoint held back by a reader leaves the request waiting
//!    (`erasure.checkpoint_waiting`); `complete_waiting` retries it.
//!
//! A crash or network failure at any point: run the execution again; done steps are skipped.
//! Until the local step is done, a resumed run first computes the plan again (`recompute`):
//! customers linked since the start, or created at Stripe under the request's email, join the
//! run (and are suppressed at once if suppression is done); a new blocker (an invoice opened,
//! a subscription started) stops it before any DELETE; `Plan::changed` says what moved.
//!
//! The plan asks Stripe for customers under the request's email besides those linked locally,
//! and takes from Stripe's lists only objects whose `customer` is the one asked about.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use ts_rs::TS;

use super::{row, start_work, status, Kind, Regime};
use crate::audit::{self, Entry};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::ingest::model::Minimised;
use crate::secrets::{HashKey, SecretKind};
use crate::store::{processors as pq, requests as q, subjects as sq};
use crate::stripe::client::{Client, StripeError};
use crate::stripe::redaction::{self, Objects};
use crate::stripe_sync::ErasureMethod;
use crate::time::{now_ms, to_rfc3339};

/// Legal basis for keeping financial records after an erasure.
pub const FINANCIAL_BASIS: &str = "GDPR Art. 17(3)(b) and Art. 6(1)(c): legal obligation to keep \
     accounting and tax records";
const ACCOUNTABILITY_BASIS: &str = "GDPR Art. 5(2) and Art. 17(3)(e): accountability, evidence \
     that the request was answered";
const SUPPRESSION_BASIS: &str =
    "GDPR Art. 17 and Art. 6(1)(c): needed to keep the erasure effective";

/// Test hook: `PRIVACY_DESK_FAULT=erasure:<point>` aborts the process at that point, to prove
/// that a crash there resumes cleanly. Points: `after-suppress`, `after-stripe-call`,
/// `after-redaction-job-created`, `after-local`.
pub const FAULT_ENV: &str = "PRIVACY_DESK_FAULT";

fn fault(point: &str) {
    if std::env::var(FAULT_ENV).ok().as_deref() == Some(&format!("erasure:{point}")) {
        eprintln!("fault injected: erasure:{point}");
        // Like a crash: no cleanup, no further writes (exit code 86).
        std::process::exit(86);
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct PlanItem {
    /// What the item is about: `local:profile`, `stripe:customer:cus_…`, `stripe:invoice:in_…`.
    pub target: String,
    /// `erase`, `retain` or `blocked`.
    pub action: String,
    pub legal_basis: Option<String>,
    pub retain_until: Option<String>,
    /// Why, and for `blocked` what to do first.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct Plan {
    pub request_id: i64,
    /// The subject's keyed hash.
    pub subject: String,
    /// The app holds something about the subject.
    pub data_held: bool,
    pub identity_verified: bool,
    /// `live` (checked against Stripe now), `offline` (Stripe unreachable: local data only),
    /// `not_configured` (no API key) or `none` (no Stripe customer known).
    pub stripe: String,
    pub blocked: bool,
    pub items: Vec<PlanItem>,
    /// Objects Stripe's lists returned that belong to another customer: left out of the plan
    /// (their ids are in the log).
    #[serde(default)]
    pub foreign_objects_dropped: u64,
    /// What a resumed run found changed since the run started (items added, gone or with
    /// another action), as `target: before → now`; empty for a plan not yet executed.
    #[serde(default)]
    pub changed: Vec<String>,
}

fn item(target: impl Into<String>, action: &str, reason: impl Into<String>) -> PlanItem {
    PlanItem {
        target: target.into(),
        action: action.to_owned(),
        legal_basis: None,
        retain_until: None,
        reason: reason.into(),
    }
}

/// Object kinds whose events are financial records.
fn is_financial(object: &str) -> bool {
    matches!(
        object,
        "charge"
            | "payment_intent"
            | "invoice"
            | "refund"
            | "dispute"
            | "checkout.session"
            | "subscription"
            | "credit_note"
    )
}

/// Kept until the end of the calendar year `years` after the record's (HGB § 257(5) style):
/// the returned instant is the first moment after the retention.
/// Times are stored in the years 0001–9999 (`time::in_range`) and retention is at most a few
/// decades, so the year stays far inside chrono's range; past it the result saturates.
pub fn retain_until(occurred_at: i64, years: u32) -> i64 {
    let y = Utc
        .timestamp_millis_opt(occurred_at)
        .single()
        .unwrap_or_default()
        .year();
    i32::try_from(years)
        .ok()
        .and_then(|n| y.checked_add(n)?.checked_add(1))
        .and_then(|y| NaiveDate::from_ymd_opt(y, 1, 1))
        .map(|d| {
            Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN))
                .timestamp_millis()
        })
        .unwrap_or(i64::MAX)
}

/// What the app holds about a subject.
pub(crate) struct Gathered {
    pub subject: Option<sq::SubjectRow>,
    pub emails: Vec<sq::EmailRow>,
    /// (processor, customer id, processor kind)
    pub customers: Vec<(i64, String, String)>,
    pub events: Vec<q::SubjectEvent>,
}

pub(crate) fn gather(
    ctx: &Context,
    email: Option<&str>,
    subject_id: Option<i64>,
) -> Result<Gathered> {
    let email = email.map(str::to_owned);
    ctx.db.read(move |c| {
        let subject = match (subject_id, &email) {
            (Some(id), _) => sq::get(c, id)?,
            (None, Some(e)) => sq::find_by_email(c, e)?,
            _ => None,
        };
        let (emails, ext) = match &subject {
            Some(s) => (sq::emails(c, s.id)?, sq::external_ids(c, s.id)?),
            None => (Vec::new(), Vec::new()),
        };
        let mut customers = Vec::new();
        for x in ext {
            let kind = pq::get(c, x.processor_id)?
                .map(|p| p.kind)
                .unwrap_or_default();
            customers.push((x.processor_id, x.external_id, kind));
        }
        let mut all_emails: Vec<String> = emails.iter().map(|e| e.email.clone()).collect();
        if let Some(e) = &email {
            if !all_emails.contains(e) {
                all_emails.push(e.clone());
            }
        }
        let pairs: Vec<(i64, String)> = customers.iter().map(|(p, c, _)| (*p, c.clone())).collect();
        let events = q::subject_events(c, subject.as_ref().map(|s| s.id), &pairs, &all_emails)?;
        Ok(Gathered {
            subject,
            emails,
            customers,
            events,
        })
    })
}

/// The Stripe processors set to erase by redaction job, with the objects each job names: the
/// subject's customers there and the ids of the payments, invoices, checkout sessions… its
/// events carry (guest checkouts included).
fn redaction_jobs(ctx: &Context, g: &Gathered) -> Result<BTreeMap<i64, Objects>> {
    let mut pids: BTreeSet<i64> = g.customers.iter().map(|c| c.0).collect();
    pids.extend(g.events.iter().map(|e| e.processor_id));
    let mut out = BTreeMap::new();
    for pid in pids {
        let stripe = ctx
            .db
            .read(|c| pq::get(c, pid))?
            .is_some_and(|p| p.kind == "stripe");
        if !stripe || crate::stripe_sync::erasure_method(ctx, pid)? != ErasureMethod::RedactionJob {
            continue;
        }
        let ids = g
            .customers
            .iter()
            .filter(|c| c.0 == pid)
            .map(|c| c.1.as_str())
            .chain(
                g.events
                    .iter()
                    .filter(|e| e.processor_id == pid)
                    .filter_map(|e| e.object_id.as_deref()),
            );
        let objects = redaction::group(ids);
        if !objects.is_empty() {
            out.insert(pid, objects);
        }
    }
    Ok(out)
}

fn describe(objects: &Objects) -> String {
    objects
        .iter()
        .map(|(kind, ids)| format!("{} {}", ids.len(), kind.replace('_', " ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The latest known status of each invoice, subscription and dispute in `events`.
fn local_statuses(events: &[q::SubjectEvent]) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for e in events {
        let Ok(m) = serde_json::from_str::<Minimised>(&e.data) else {
            continue;
        };
        if !matches!(m.object.as_str(), "invoice" | "subscription" | "dispute") {
            continue;
        }
        if let (Some(id), Some(st)) = (
            m.object_id.clone(),
            m.fields.get("status").and_then(Value::as_str),
        ) {
            out.insert(id, (m.object.clone(), st.to_owned()));
        }
    }
    out
}

fn blocker(object: &str, id: &str, status: &str) -> Option<PlanItem> {
    let (target, reason) = match (object, status) {
        ("invoice", "open") => (
            format!("stripe:invoice:{id}"),
            format!(
                "invoice {id} is open: wait until it is paid, or void it or mark it \
                 uncollectible in Stripe, then plan the erasure again"
            ),
        ),
        (
            "subscription",
            "active" | "trialing" | "past_due" | "unpaid" | "incomplete" | "paused",
        ) => (
            format!("stripe:subscription:{id}"),
            format!(
                "subscription {id} is {status}: cancel it in Stripe (or let it end), then plan \
                 the erasure again"
            ),
        ),
        (
            "dispute",
            "needs_response" | "warning_needs_response" | "under_review" | "warning_under_review",
        ) => (
            format!("stripe:dispute:{id}"),
            format!(
                "dispute {id} is open ({status}): the records are needed to defend it \
                 (Art. 17(3)(e)); wait until it is won or lost, then plan the erasure again"
            ),
        ),
        _ => return None,
    };
    Some(item(target, "blocked", reason))
}

/// Asks Stripe for the customer's invoices and subscriptions (status as of now); returns how
/// many objects of another customer the lists held (left out: they cannot block this erasure).
fn live_statuses(
    client: &Client,
    cus: &str,
    out: &mut BTreeMap<String, (String, String)>,
) -> std::result::Result<usize, StripeError> {
    let mut dropped = 0;
    for (path, object, extra) in [
        ("/v1/invoices", "invoice", &[][..]),
        (
            "/v1/subscriptions",
            "subscription",
            &[("status", "all")][..],
        ),
    ] {
        let listed = client.list_of_customer(path, cus, extra)?;
        dropped += listed.dropped;
        for o in &listed.objects {
            if let (Some(id), Some(st)) = (
                o.get("id").and_then(Value::as_str),
                o.get("status").and_then(Value::as_str),
            ) {
                out.insert(id.to_owned(), (object.to_owned(), st.to_owned()));
            }
        }
    }
    Ok(dropped)
}

fn erasure_row(ctx: &Context, id: i64) -> Result<q::RequestRow> {
    let r = row(ctx, id)?;
    if r.kind != Kind::Erasure.as_str() {
        return Err(Error::invalid(format!(
            "request {id} is an {} request, not an erasure",
            r.kind
        )));
    }
    Ok(r)
}

/// The plan for an erasure request. Once execution has started, the plan of the run as last
/// computed (a resumed run computes it again: `changed` says what moved).
pub fn plan(ctx: &Context, id: i64) -> Result<Plan> {
    let r = erasure_row(ctx, id)?;
    if let Some(state) = load_state(ctx, id)? {
        return Ok(state.plan);
    }
    Ok(compute_plan(ctx, &r, &BTreeSet::new())?.plan)
}

/// A plan and what it was computed from: the subject's customers at each processor (those
/// linked locally and those Stripe has under the request's email) and the redaction jobs.
struct Computed {
    plan: Plan,
    subject_id: Option<i64>,
    customers: Vec<(i64, String, String)>,
    jobs: BTreeMap<i64, Objects>,
}

/// Stripe customers under `email` that are not linked locally (created at Stripe after the
/// last event Privacy Desk saw, or never seen): asked from every Stripe processor with a key.
/// Each answer's email is checked, whatever filter Stripe applied. Network trouble → `None`.
fn stripe_customers_by_email(
    ctx: &Context,
    email: &str,
    known: &[(i64, String, String)],
) -> Result<Option<Vec<(i64, String, String)>>> {
    let mut found = Vec::new();
    let stripes: Vec<i64> = ctx
        .db
        .read(pq::list)?
        .into_iter()
        .filter(|p| p.kind == "stripe")
        .map(|p| p.id)
        .collect();
    for pid in stripes {
        let Some(key) = ctx.keychain.get(pid, SecretKind::ApiKey)? else {
            continue;
        };
        let client = Client::new(key)?;
        let params = [("email".to_owned(), email.to_owned())];
        let listed = client.list_pages::<StripeError>("/v1/customers", &params, None, |page| {
            for o in &page.data {
                let same = o
                    .get("email")
                    .and_then(Value::as_str)
                    .is_some_and(|e| e.eq_ignore_ascii_case(email));
                if let (true, Some(id)) = (same, o.get("id").and_then(Value::as_str)) {
                    if !known.iter().chain(&found).any(|k| k.0 == pid && k.1 == id) {
                        found.push((pid, id.to_owned(), "stripe".to_owned()));
                    }
                }
            }
            Ok(true)
        });
        match listed {
            Ok(()) => {}
            Err(
                e @ (StripeError::Network { .. }
                | StripeError::Server { .. }
                | StripeError::RateLimited),
            ) => {
                tracing::warn!(error = %e, "erasure plan: Stripe unreachable");
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Some(found))
}

fn customer_item(cus: &str) -> PlanItem {
    item(
        format!("stripe:customer:{cus}"),
        "erase",
        format!(
            "DELETE /v1/customers/{cus}: Stripe deletes the customer and its saved payment \
             methods (Stripe keeps its own payment records under its own legal obligations)"
        ),
    )
}

/// Computes the plan from what is held now. `erased` are the (processor, customer) pairs a run
/// has already deleted at Stripe: they are listed, but Stripe is not asked about them again.
fn compute_plan(
    ctx: &Context,
    r: &q::RequestRow,
    erased: &BTreeSet<(i64, String)>,
) -> Result<Computed> {
    let mut g = gather(ctx, r.email.as_deref(), None)?;
    let mut stripe = "none".to_owned();
    if let Some(email) = &r.email {
        match stripe_customers_by_email(ctx, email, &g.customers)? {
            Some(found) => g.customers.extend(found),
            None => stripe = "offline".into(),
        }
    }
    let years = crate::settings::financial_retention(ctx)?.years;
    let mut items = Vec::new();
    let mut statuses = local_statuses(&g.events);
    let mut foreign_objects_dropped = 0u64;
    let jobs = redaction_jobs(ctx, &g)?;

    if let Some(s) = &g.subject {
        items.push(item(
            "local:profile",
            "erase",
            format!(
                "the data subject's record: {} email address(es) with their history, {}, and \
                 {} processor customer id(s)",
                g.emails.len(),
                if s.name.is_some() {
                    "the name"
                } else {
                    "no name"
                },
                g.customers.len()
            ),
        ));
    }
    let (fin, other): (Vec<_>, Vec<_>) = g.events.iter().partition(|e| {
        serde_json::from_str::<Minimised>(&e.data)
            .map(|m| is_financial(&m.object))
            .unwrap_or(false)
    });
    if !other.is_empty() {
        items.push(item(
            "local:activity",
            "erase",
            format!(
                "{} event(s) in the Processing Activity Log (customer records, payment methods \
                 and other non-financial events) are deleted",
                other.len()
            ),
        ));
    }
    if !fin.is_empty() {
        let until = fin
            .iter()
            .map(|e| retain_until(e.occurred_at, years))
            .max()
            .unwrap_or_default();
        items.push(PlanItem {
            target: "local:financial_records".into(),
            action: "retain".into(),
            legal_basis: Some(FINANCIAL_BASIS.into()),
            retain_until: Some(to_rfc3339(until)),
            reason: format!(
                "{} financial record(s) (charges, payments, invoices, refunds…) are kept \
                 pseudonymised for {years} years after the end of their year: amounts, \
                 currency, dates and Stripe ids stay; email, name and address are removed. \
                 They are deleted automatically when the retention ends",
                fin.len()
            ),
        });
    }

    for (pid, cus, kind) in &g.customers {
        if kind != "stripe" {
            let name = ctx
                .db
                .read(|c| pq::get(c, *pid))?
                .map(|p| p.name)
                .unwrap_or_default();
            items.push(item(
                format!("processor:{pid}:{cus}"),
                "erase",
                format!(
                    "{name} (processor {pid}) holds this person as {cus}: Privacy Desk cannot \
                     delete it there; delete it in {name} yourself (the step is recorded)"
                ),
            ));
            continue;
        }
        match ctx.keychain.get(*pid, SecretKind::ApiKey)? {
            None => {
                stripe = "not_configured".into();
                items.push(item(
                    format!("stripe:customer:{cus}"),
                    "blocked",
                    format!(
                        "processor {pid} has no Stripe API key, so the customer cannot be \
                         deleted at Stripe: add a restricted key with customer write \
                         permission in Processors → Stripe setup (or `privacy-desk stripe \
                         set-key {pid}`)"
                    ),
                ));
                continue;
            }
            // Deleted at Stripe by this run already: nothing there to ask about.
            Some(_) if erased.contains(&(*pid, cus.clone())) => {
                items.push(customer_item(cus));
            }
            Some(key) => {
                let client = Client::new(key)?;
                match live_statuses(&client, cus, &mut statuses) {
                    Ok(n) => {
                        foreign_objects_dropped += n as u64;
                        if stripe != "offline" {
                            stripe = "live".into();
                        }
                    }
                    Err(
                        e @ (StripeError::Network { .. }
                        | StripeError::Server { .. }
                        | StripeError::RateLimited),
                    ) => {
                        tracing::warn!(error = %e, "erasure plan: Stripe unreachable");
                        stripe = "offline".into();
                    }
                    Err(e) => return Err(e.into()),
                }
                if !jobs.contains_key(pid) {
                    items.push(customer_item(cus));
                }
            }
        }
    }
    for (pid, objects) in &jobs {
        if ctx.keychain.get(*pid, SecretKind::ApiKey)?.is_none() {
            // With a customer there, the customer loop has already said so.
            if !g.customers.iter().any(|c| c.0 == *pid) {
                stripe = "not_configured".into();
                items.push(item(
                    format!("stripe:redaction_job:{pid}"),
                    "blocked",
                    format!(
                        "processor {pid} has no Stripe API key, so Stripe cannot redact the \
                         subject's data: add a restricted key in Processors → Stripe setup (or \
                         `privacy-desk stripe set-key {pid}`)"
                    ),
                ));
            }
            continue;
        }
        items.push(item(
            format!("stripe:redaction_job:{pid}"),
            "erase",
            format!(
                "a Stripe redaction job (processor {pid}) over {}: Stripe validates them, then \
                 permanently removes the personal data (name, email, address, phone…) from \
                 them and the objects related to them; the payment records stay at Stripe \
                 without personal data",
                describe(objects)
            ),
        ));
    }
    for (id, (object, st)) in &statuses {
        if let Some(b) = blocker(object, id, st) {
            items.push(b);
        }
    }
    let data_held = g.subject.is_some() || !g.events.is_empty();
    if data_held {
        items.push(PlanItem {
            target: "local:suppression".into(),
            action: "retain".into(),
            legal_basis: Some(SUPPRESSION_BASIS.into()),
            retain_until: None,
            reason: "a keyed hash of each email address and customer id (not the values) stops \
                     later events from bringing the personal data back"
                .into(),
        });
    }
    items.push(PlanItem {
        target: "local:requests".into(),
        action: "retain".into(),
        legal_basis: Some(ACCOUNTABILITY_BASIS.into()),
        retain_until: None,
        reason: if data_held {
            "the requests and the audit trail keep the subject's keyed hash, never the email \
             or name"
                .into()
        } else {
            "nothing is held about this email address; the request is kept as evidence of the \
             answer, under a keyed hash"
                .into()
        },
    });
    let plan = Plan {
        request_id: r.id,
        subject: r.subject_hash.clone(),
        data_held,
        identity_verified: r.identity_verified_at.is_some(),
        stripe,
        blocked: items.iter().any(|i| i.action == "blocked"),
        items,
        foreign_objects_dropped,
        changed: Vec::new(),
    };
    Ok(Computed {
        plan,
        subject_id: g.subject.as_ref().map(|s| s.id),
        customers: g.customers,
        jobs,
    })
}

/// What moved between two plans of one run, as `target: before → now` (`—` for absent).
fn plan_changes(before: &Plan, now: &Plan) -> Vec<String> {
    let map = |p: &Plan| -> BTreeMap<String, String> {
        p.items
            .iter()
            .map(|i| (i.target.clone(), i.action.clone()))
            .collect()
    };
    let (b, n) = (map(before), map(now));
    let mut targets: BTreeSet<&String> = b.keys().collect();
    targets.extend(n.keys());
    targets
        .into_iter()
        .filter(|t| b.get(*t) != n.get(*t))
        .map(|t| {
            let side = |m: &BTreeMap<String, String>| m.get(t).cloned().unwrap_or("—".into());
            format!("{t}: {} → {}", side(&b), side(&n))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Execution

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunCustomer {
    processor_id: i64,
    customer_ref: String,
    kind: String,
    idempotency_key: String,
    /// Erased at Stripe by the processor's redaction job, not by a DELETE.
    #[serde(default)]
    via_job: bool,
}

/// A Stripe redaction job of the run (one per processor set to redaction jobs).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunJob {
    processor_id: i64,
    objects: Objects,
    /// Prefix of the idempotency keys of the job's calls (create, validate, run).
    idempotency_key: String,
    /// Stripe's `prj_…` id, committed as soon as Stripe answered the create.
    job_id: Option<String>,
    /// The last status seen; `failed` once its validation errors were reported.
    status: Option<String>,
    /// How many times the job was validated again.
    validations: u32,
}

/// How long a run waits for Stripe to validate a job, then to finish redacting it.
const VALIDATION_WAIT: Duration = Duration::from_secs(60);
const REDACTION_WAIT: Duration = Duration::from_secs(10);

/// The persisted state of a run. Holds no email or name: ids and keyed hashes only.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunState {
    subject_id: Option<i64>,
    customers: Vec<RunCustomer>,
    #[serde(default)]
    jobs: Vec<RunJob>,
    plan: Plan,
    years: u32,
    steps: Vec<String>,
    events_deleted: i64,
    records_retained: i64,
    finished_at: Option<i64>,
    /// The local data is gone but the WAL checkpoint was held back (recorded once).
    #[serde(default)]
    checkpoint_waiting: bool,
}

impl RunState {
    fn done(&self, step: &str) -> bool {
        self.steps.iter().any(|s| s == step)
    }
}

fn load_state(ctx: &Context, id: i64) -> Result<Option<RunState>> {
    ctx.db
        .read(|c| q::run_state(c, id))?
        .map(|s| {
            serde_json::from_str(&s).map_err(|_| {
                Error::Database(format!("the erasure state of request {id} is damaged"))
            })
        })
        .transpose()
}

/// The outcome of an execution.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ErasureResult {
    pub request_id: i64,
    pub status: String,
    /// The steps done, in order.
    pub steps: Vec<String>,
    pub events_deleted: i64,
    pub records_retained: i64,
    pub stripe_customers_deleted: Vec<String>,
    pub stripe_redaction_jobs: Vec<RedactionJobOutcome>,
    pub completed_at: Option<String>,
    /// What the run found changed since it started (see `Plan::changed`).
    pub plan_changed: Vec<String>,
}

/// A Stripe redaction job the erasure ran.
#[derive(Debug, Clone, Serialize, TS)]
pub struct RedactionJobOutcome {
    pub processor_id: i64,
    pub job_id: String,
    /// Stripe's status when last seen: `redacting` (Stripe finishes on its own) or `succeeded`.
    pub status: String,
}

fn result(id: i64, s: &RunState) -> ErasureResult {
    ErasureResult {
        request_id: id,
        status: if s.finished_at.is_some() {
            status::COMPLETED.into()
        } else {
            status::IN_PROGRESS.into()
        },
        steps: s.steps.clone(),
        events_deleted: s.events_deleted,
        records_retained: s.records_retained,
        stripe_customers_deleted: s
            .customers
            .iter()
            .filter(|c| c.kind == "stripe" && s.done(&step_name(c)))
            .map(|c| c.customer_ref.clone())
            .collect(),
        stripe_redaction_jobs: s
            .jobs
            .iter()
            .filter(|j| s.done(&job_step(j)))
            .filter_map(|j| {
                Some(RedactionJobOutcome {
                    processor_id: j.processor_id,
                    job_id: j.job_id.clone()?,
                    status: j.status.clone().unwrap_or_default(),
                })
            })
            .collect(),
        completed_at: s.finished_at.map(to_rfc3339),
        plan_changed: s.plan.changed.clone(),
    }
}

fn step_name(c: &RunCustomer) -> String {
    format!("processor:{}:{}", c.processor_id, c.customer_ref)
}

fn job_step(j: &RunJob) -> String {
    format!("redaction:{}", j.processor_id)
}

fn random_hex() -> Result<String> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b)
        .map_err(|e| Error::Io(format!("the OS random number generator failed: {e}")))?;
    Ok(hex::encode(b))
}

/// Commits `state` with one audit entry.
fn commit(ctx: &Context, key: &HashKey, id: i64, state: &RunState, entry: Entry) -> Result<()> {
    let text = serde_json::to_string(state).expect("state serialises");
    let key = key.clone();
    ctx.db.write(move |c| {
        let now = now_ms();
        q::save_run_state(c, id, &text, now)?;
        audit::append(c, &key, &entry, now)?;
        Ok(())
    })
}

/// Executes the erasure (or resumes it). Refused while the plan has a blocked item.
pub fn execute(ctx: &Context, id: i64) -> Result<ErasureResult> {
    let r = erasure_row(ctx, id)?;
    let key = ctx.keychain.hash_key()?;
    let hash = r.subject_hash.clone();
    let entry = |action: &str| Entry::new(audit::SYSTEM, action).request(id).subject(&hash);

    let mut state = match load_state(ctx, id)? {
        Some(mut s) => {
            if s.finished_at.is_none() && !s.done("local") {
                recompute(ctx, &r, &key, &mut s)?;
            }
            s
        }
        None => {
            if r.status == status::REJECTED {
                return Err(Error::Blocked(format!("request {id} was rejected")));
            }
            let c = compute_plan(ctx, &r, &BTreeSet::new())?;
            if c.plan.blocked {
                return Err(refuse_blocked(ctx, &r, &c.plan)?);
            }
            let run = random_hex()?;
            let state = RunState {
                subject_id: c.subject_id,
                customers: c
                    .customers
                    .iter()
                    .map(|(p, cus, k)| run_customer(id, &run, *p, cus, k, c.jobs.contains_key(p)))
                    .collect(),
                jobs: c
                    .jobs
                    .into_iter()
                    .map(|(p, objects)| run_job(id, &run, p, objects))
                    .collect(),
                years: crate::settings::financial_retention(ctx)?.years,
                plan: c.plan,
                steps: Vec::new(),
                events_deleted: 0,
                records_retained: 0,
                finished_at: None,
                checkpoint_waiting: false,
            };
            let text = serde_json::to_string(&state).expect("state serialises");
            let k = key.clone();
            let started = entry("erasure.started").details(json!({
                "identity_verified": r.identity_verified_at.is_some(),
                "items": state.plan.items.iter().map(|i| json!({"target": i.target, "action": i.action})).collect::<Vec<_>>(),
            }));
            let r2 = r.clone();
            ctx.db.write(move |c| {
                let now = now_ms();
                q::save_run_state(c, id, &text, now)?;
                start_work(c, &r2, now)?;
                audit::append(c, &k, &started, now)?;
                Ok(())
            })?;
            state
        }
    };

    // 1. Suppression entries.
    if !state.done("suppress") {
        let hashes = suppression_hashes(ctx, &key, &r, &state)?;
        state.steps.push("suppress".into());
        let text = serde_json::to_string(&state).expect("state serialises");
        let (k, n) = (key.clone(), hashes.len());
        let e = entry("erasure.suppressed").details(json!({ "entries": n }));
        ctx.db.write(move |c| {
            let now = now_ms();
            for h in &hashes {
                q::suppress(c, h, id, now)?;
            }
            q::save_run_state(c, id, &text, now)?;
            audit::append(c, &k, &e, now)?;
            Ok(())
        })?;
        fault("after-suppress");
    }

    // 2. Processors.
    for cust in state.customers.clone() {
        let step = step_name(&cust);
        if state.done(&step) || cust.via_job {
            continue;
        }
        let outcome = if cust.kind == "stripe" {
            let client = crate::stripe_sync::client(ctx, cust.processor_id)?;
            let path = format!("/v1/customers/{}", cust.customer_ref);
            let outcome = match client.delete_idempotent(&path, &cust.idempotency_key) {
                Ok(_) => "deleted",
                Err(StripeError::NotFound { .. }) => "already_gone",
                Err(e) => {
                    let _ = audit::record(
                        ctx,
                        entry("erasure.stripe_failed").details(json!({
                            "processor_id": cust.processor_id,
                            "customer": cust.customer_ref,
                            "error": e.to_string(),
                        })),
                    );
                    return Err(Error::from(e));
                }
            };
            fault("after-stripe-call");
            outcome
        } else {
            "manual"
        };
        state.steps.push(step);
        commit(
            ctx,
            &key,
            id,
            &state,
            entry(if outcome == "manual" {
                "erasure.processor_manual_step"
            } else {
                "erasure.stripe_customer_deleted"
            })
            .details(json!({
                "processor_id": cust.processor_id,
                "customer": cust.customer_ref,
                "outcome": outcome,
            })),
        )?;
    }

    // 2b. Stripe redaction jobs.
    for i in 0..state.jobs.len() {
        if !state.done(&job_step(&state.jobs[i])) {
            redact_at_stripe(ctx, &key, id, &hash, &mut state, i)?;
        }
    }

    // 3. Local data.
    if !state.done("local") {
        // Link what is still pending first, so nothing about the subject waits unseen.
        ctx.db
            .write(|c| crate::ingest::link::process_pending(c, u32::MAX))?;
        let g = gather(ctx, r.email.as_deref(), state.subject_id)?;
        let years = state.years;
        let mut retained = Vec::new();
        for e in &g.events {
            let Ok(m) = serde_json::from_str::<Minimised>(&e.data) else {
                continue;
            };
            if !is_financial(&m.object) {
                continue;
            }
            retained.push(q::RetainedRow {
                request_id: Some(id),
                subject_hash: r.subject_hash.clone(),
                processor_id: Some(e.processor_id),
                event_id: e.event_id.clone(),
                event_type: e.event_type.clone(),
                object_id: e.object_id.clone(),
                customer_ref: e.customer_ref.clone(),
                occurred_at: e.occurred_at,
                fields: serde_json::to_string(&json!({
                    "object": m.object,
                    "fields": m.fields,
                }))
                .expect("JSON serialises"),
                legal_basis: FINANCIAL_BASIS.into(),
                retain_until: retain_until(e.occurred_at, years),
            });
        }
        let ids: Vec<i64> = g.events.iter().map(|e| e.id).collect();
        let scrub = scrubber(&g, r.email.as_deref());
        // Counted as the plan counts them: financial events move to the retained records.
        state.events_deleted = (ids.len() - retained.len()) as i64;
        state.records_retained = retained.len() as i64;
        state.steps.push("local".into());
        let text = serde_json::to_string(&state).expect("state serialises");
        let (k, hash2) = (key.clone(), r.subject_hash.clone());
        let subject_id = g.subject.as_ref().map(|s| s.id);
        let e = entry("erasure.local_erased").details(json!({
            "events_deleted": ids.len() - retained.len(),
            "records_retained": retained.len(),
            "profile_deleted": subject_id.is_some(),
        }));
        ctx.db.write(move |c| {
            let now = now_ms();
            for rr in &retained {
                q::insert_retained(c, rr)?;
            }
            for eid in &ids {
                q::delete_event(c, *eid)?;
            }
            if let Some(sid) = subject_id {
                q::delete_subject(c, sid)?;
            }
            q::forget_email(c, &hash2, now)?;
            q::rewrite_free_text(c, &hash2, |t| scrub(t), now)?;
            q::save_run_state(c, id, &text, now)?;
            audit::append(c, &k, &e, now)?;
            Ok(())
        })?;
        fault("after-local");
    }

    // 4. Done, once nothing of the subject lingers in the WAL: the checkpoint must succeed
    // first (a reader elsewhere can hold it back; then the request waits, and is retried).
    if state.finished_at.is_none() {
        if !q::checkpoint(ctx.db.path(), CHECKPOINT_WAIT)? {
            if !state.checkpoint_waiting {
                state.checkpoint_waiting = true;
                commit(ctx, &key, id, &state, entry("erasure.checkpoint_waiting"))?;
            }
            return Err(Error::Unavailable(format!(
                "request {id} is erased but not completed yet: the database's write-ahead log \
                 still holds the deleted pages and could not be cleared, because another \
                 program is reading the database. The request waits for it: Privacy Desk \
                 retries every minute while it runs; close other Privacy Desk windows or \
                 commands, or run `privacy-desk dsr erase {id} --yes` again"
            )));
        }
        let now = now_ms();
        state.finished_at = Some(now);
        state.steps.push("completed".into());
        let text = serde_json::to_string(&state).expect("state serialises");
        let k = key.clone();
        let e = entry("erasure.completed");
        ctx.db.write(move |c| {
            let now = now_ms();
            q::save_run_state(c, id, &text, now)?;
            q::set_status(c, id, status::COMPLETED, now)?;
            audit::append(c, &k, &e, now)?;
            Ok(())
        })?;
    }
    // The completion's own pages (ids and hashes only) go too, where nothing reads.
    if !q::checkpoint(ctx.db.path(), CHECKPOINT_WAIT)? {
        tracing::info!(request = id, "checkpoint after the completion deferred");
    }
    Ok(result(id, &state))
}

/// How long a checkpoint waits for readers before the request is left waiting.
const CHECKPOINT_WAIT: Duration = Duration::from_secs(5);

/// Completes the erasures whose data is gone but whose WAL checkpoint was held back (the app
/// calls it every minute). Returns the requests completed now.
pub fn complete_waiting(ctx: &Context) -> Result<Vec<i64>> {
    let waiting: Vec<i64> = ctx
        .db
        .read(q::run_states)?
        .into_iter()
        .filter_map(|(id, text)| {
            let s: RunState = serde_json::from_str(&text).ok()?;
            (s.finished_at.is_none() && s.done("local")).then_some(id)
        })
        .collect();
    let mut done = Vec::new();
    for id in waiting {
        match execute(ctx, id) {
            Ok(_) => done.push(id),
            Err(Error::Unavailable(_)) => {}
            Err(e) => tracing::warn!(request = id, error = %e, "completing an erasure failed"),
        }
    }
    Ok(done)
}

/// The keyed hashes that keep the erasure effective: the request's email, the subject's
/// other emails and each customer id of the run.
fn suppression_hashes(
    ctx: &Context,
    key: &HashKey,
    r: &q::RequestRow,
    state: &RunState,
) -> Result<Vec<String>> {
    let mut hashes = vec![r.subject_hash.clone()];
    if let Some(sid) = state.subject_id {
        for e in ctx.db.read(|c| sq::emails(c, sid))? {
            hashes.push(key.subject(&e.email));
        }
    }
    for c in &state.customers {
        hashes.push(key.customer(c.processor_id, &c.customer_ref));
    }
    hashes.sort();
    hashes.dedup();
    Ok(hashes)
}

fn run_customer(id: i64, run: &str, p: i64, cus: &str, kind: &str, via_job: bool) -> RunCustomer {
    RunCustomer {
        processor_id: p,
        customer_ref: cus.to_owned(),
        kind: kind.to_owned(),
        // One key per customer: Stripe refuses a key reused for another path.
        idempotency_key: format!("privacy-desk-erasure-{id}-{run}-{p}-{cus}"),
        via_job,
    }
}

fn run_job(id: i64, run: &str, p: i64, objects: Objects) -> RunJob {
    RunJob {
        processor_id: p,
        objects,
        idempotency_key: format!("privacy-desk-redaction-{id}-{run}-{p}"),
        job_id: None,
        status: None,
        validations: 0,
    }
}

/// Records a refusal because `plan` has blocked items, and returns the error that says which
/// and what to do (with what changed, for a resumed run).
fn refuse_blocked(ctx: &Context, r: &q::RequestRow, plan: &Plan) -> Result<Error> {
    let blocked: Vec<&PlanItem> = plan
        .items
        .iter()
        .filter(|i| i.action == "blocked")
        .collect();
    crate::audit::record(
        ctx,
        Entry::new(audit::SYSTEM, "erasure.blocked")
            .request(r.id)
            .subject(&r.subject_hash)
            .details(json!({
                "blocked": blocked.iter().map(|i| i.target.clone()).collect::<Vec<_>>(),
                "changed": plan.changed,
            })),
    )?;
    let what: Vec<&str> = blocked.iter().map(|i| i.reason.as_str()).collect();
    let changed = if plan.changed.is_empty() {
        String::new()
    } else {
        format!(
            ". Changed since the erasure started: {}",
            plan.changed.join("; ")
        )
    };
    Ok(Error::Blocked(format!(
        "the erasure of request {} is blocked: {}{changed}",
        r.id,
        what.join("; ")
    )))
}

/// A resumed run computes again what it must still do: customers linked to the subject (or
/// created at Stripe under the email) since the run started join it, and are suppressed at
/// once if suppression is done; a new blocker (an invoice opened, a subscription started)
/// stops the run before anything else is deleted. What changed is kept in the plan.
fn recompute(ctx: &Context, r: &q::RequestRow, key: &HashKey, state: &mut RunState) -> Result<()> {
    let erased: BTreeSet<(i64, String)> = state
        .customers
        .iter()
        .filter(|c| c.kind == "stripe" && state.done(&step_name(c)))
        .map(|c| (c.processor_id, c.customer_ref.clone()))
        .collect();
    let fresh = compute_plan(ctx, r, &erased)?;
    let changed = plan_changes(&state.plan, &fresh.plan);
    let run = random_hex()?;
    let mut added = 0usize;
    for (p, objects) in &fresh.jobs {
        match state.jobs.iter_mut().find(|j| j.processor_id == *p) {
            // Not created at Stripe yet: it takes what is known now.
            Some(j) if j.job_id.is_none() => j.objects = objects.clone(),
            Some(_) => {}
            None => state.jobs.push(run_job(r.id, &run, *p, objects.clone())),
        }
    }
    for (p, cus, kind) in &fresh.customers {
        if state
            .customers
            .iter()
            .any(|c| c.processor_id == *p && &c.customer_ref == cus)
        {
            continue;
        }
        // A job already created at Stripe does not name this customer: it gets a DELETE.
        let via_job = state
            .jobs
            .iter()
            .any(|j| j.processor_id == *p && j.job_id.is_none());
        state
            .customers
            .push(run_customer(r.id, &run, *p, cus, kind, via_job));
        added += 1;
    }
    if state.subject_id.is_none() {
        state.subject_id = fresh.subject_id;
    }
    if changed.is_empty() && added == 0 && !fresh.plan.blocked {
        return Ok(());
    }
    let mut plan = fresh.plan;
    plan.changed = changed;
    state.plan = plan;
    let hashes = if state.done("suppress") {
        suppression_hashes(ctx, key, r, state)?
    } else {
        Vec::new()
    };
    let text = serde_json::to_string(&state).expect("state serialises");
    let (id, k) = (r.id, key.clone());
    let e = Entry::new(audit::SYSTEM, "erasure.plan_changed")
        .request(id)
        .subject(&r.subject_hash)
        .details(json!({ "changed": state.plan.changed, "customers_added": added }));
    ctx.db.write(move |c| {
        let now = now_ms();
        for h in &hashes {
            q::suppress(c, h, id, now)?;
        }
        q::save_run_state(c, id, &text, now)?;
        audit::append(c, &k, &e, now)?;
        Ok(())
    })?;
    if state.plan.blocked {
        return Err(refuse_blocked(ctx, r, &state.plan)?);
    }
    Ok(())
}

/// Replaces the subject's email addresses, full name and each word of the name (as a whole
/// word, any case) by `[erased]`: notes are free text and may name the person.
fn scrubber(g: &Gathered, email: Option<&str>) -> impl Fn(&str) -> String {
    let mut needles: Vec<String> = g.emails.iter().map(|e| e.email.clone()).collect();
    needles.extend(email.map(str::to_owned));
    let name = g.subject.as_ref().and_then(|s| s.name.clone());
    let mut alternatives: Vec<String> = needles.iter().map(|n| regex::escape(n)).collect();
    if let Some(name) = &name {
        alternatives.push(format!(r"\b{}\b", regex::escape(name.trim())));
        for word in name.split_whitespace().filter(|w| w.chars().count() >= 3) {
            alternatives.push(format!(r"\b{}\b", regex::escape(word)));
        }
    }
    // Longest first, so a whole email or name goes before its parts.
    alternatives.sort_by_key(|a| std::cmp::Reverse(a.len()));
    alternatives.retain(|a| !a.is_empty());
    let re = (!alternatives.is_empty())
        .then(|| regex::Regex::new(&format!("(?i){}", alternatives.join("|"))).ok())
        .flatten();
    move |text: &str| match &re {
        Some(re) => re.replace_all(text, "[erased]").into_owned(),
        None => text.to_owned(),
    }
}

/// Drives the run's `i`-th redaction job one step further each time it can: create (committed
/// at once), wait for validation, report validation errors (the next run validates again), run,
/// and mark the step done once Stripe accepted the run.
fn redact_at_stripe(
    ctx: &Context,
    key: &HashKey,
    id: i64,
    hash: &str,
    state: &mut RunState,
    i: usize,
) -> Result<()> {
    let entry = |action: &str| Entry::new(audit::SYSTEM, action).request(id).subject(hash);
    let pid = state.jobs[i].processor_id;
    let client = crate::stripe_sync::client(ctx, pid)?;
    let failed = |job: Option<&str>| {
        let job = job.map(str::to_owned);
        move |e: StripeError| {
            let _ = audit::record(
                ctx,
                entry("erasure.stripe_failed").details(json!({
                    "processor_id": pid,
                    "redaction_job": job,
                    "error": e.to_string(),
                })),
            );
            Error::from(e)
        }
    };

    let job = &state.jobs[i];
    let jid = match &job.job_id {
        Some(j) => j.clone(),
        None => {
            let created = redaction::create(
                &client,
                &job.objects,
                &format!("{}-create", job.idempotency_key),
            )
            .map_err(failed(None))?;
            let counts: BTreeMap<&String, usize> =
                job.objects.iter().map(|(k, v)| (k, v.len())).collect();
            let e = entry("erasure.redaction_job_created").details(json!({
                "processor_id": pid,
                "redaction_job": created.id,
                "objects": counts,
            }));
            state.jobs[i].job_id = Some(created.id.clone());
            state.jobs[i].status = Some(created.status);
            commit(ctx, key, id, state, e)?;
            fault("after-redaction-job-created");
            created.id
        }
    };

    let mut seen = redaction::wait(&client, &jid, VALIDATION_WAIT, |j| !j.validating())
        .map_err(failed(Some(&jid)))?;
    if seen.status == "failed" && state.jobs[i].status.as_deref() == Some("failed") {
        // Its errors were reported by an earlier run: the officer has fixed them (or wants to
        // know whether they have), so Stripe validates the job again.
        let n = state.jobs[i].validations + 1;
        redaction::validate(
            &client,
            &jid,
            &format!("{}-validate-{n}", state.jobs[i].idempotency_key),
        )
        .map_err(failed(Some(&jid)))?;
        state.jobs[i].validations = n;
        seen = redaction::wait(&client, &jid, VALIDATION_WAIT, |j| !j.validating())
            .map_err(failed(Some(&jid)))?;
    }
    match seen.status.as_str() {
        "ready" => {
            let run = redaction::run(
                &client,
                &jid,
                &format!("{}-run", state.jobs[i].idempotency_key),
            )
            .map_err(failed(Some(&jid)))?;
            seen = if run.status == "succeeded" {
                run
            } else {
                redaction::wait(&client, &jid, REDACTION_WAIT, |j| j.status != "redacting")
                    .map_err(failed(Some(&jid)))?
            };
        }
        "redacting" | "succeeded" => {}
        "failed" => {
            let errors = redaction::validation_errors(&client, &jid).map_err(failed(Some(&jid)))?;
            state.jobs[i].status = Some("failed".into());
            commit(
                ctx,
                key,
                id,
                state,
                entry("erasure.redaction_job_invalid").details(json!({
                    "processor_id": pid,
                    "redaction_job": jid,
                    "errors": errors.iter().map(|e| json!({
                        "code": e.code, "object_id": e.object_id, "object_type": e.object_type,
                    })).collect::<Vec<_>>(),
                })),
            )?;
            let list: Vec<String> = errors
                .iter()
                .map(|e| {
                    format!(
                        "{} ({}): {}",
                        e.object_id.as_deref().unwrap_or("the job"),
                        e.code,
                        e.advice()
                    )
                })
                .collect();
            return Err(Error::Blocked(format!(
                "Stripe cannot run redaction job {jid} yet: {}. Fix this in Stripe, then run \
                 the erasure again: Stripe validates the job again and nothing done is repeated",
                if list.is_empty() {
                    "it failed validation".to_owned()
                } else {
                    list.join("; ")
                }
            )));
        }
        "canceled" | "canceling" => {
            // A cancelled job cannot be used again: the next run creates a new one.
            state.jobs[i].job_id = None;
            state.jobs[i].status = None;
            state.jobs[i].idempotency_key =
                format!("privacy-desk-redaction-{id}-{}-{pid}", random_hex()?);
            commit(
                ctx,
                key,
                id,
                state,
                entry("erasure.redaction_job_canceled")
                    .details(json!({ "processor_id": pid, "redaction_job": jid })),
            )?;
            return Err(Error::Blocked(format!(
                "redaction job {jid} was cancelled in Stripe: run the erasure again to create a \
                 new one"
            )));
        }
        _ => {
            // Still validating after the wait: the job id is kept; a later run goes on.
            return Err(Error::Unavailable(format!(
                "Stripe is still validating redaction job {jid}: run the erasure again in a few \
                 minutes"
            )));
        }
    }
    state.jobs[i].status = Some(seen.status.clone());
    state.steps.push(job_step(&state.jobs[i]));
    commit(
        ctx,
        key,
        id,
        state,
        entry("erasure.redaction_job_run").details(json!({
            "processor_id": pid,
            "redaction_job": jid,
            "status": seen.status,
        })),
    )
}

/// Deletes retained financial records whose retention ended. Run at start and daily.
pub fn purge_expired(ctx: &Context) -> Result<usize> {
    let key = ctx.keychain.existing_hash_key()?;
    ctx.db.write(move |c| {
        let now = now_ms();
        let n = q::purge_retained(c, now)?;
        if let (true, Some(k)) = (n > 0, &key) {
            audit::append(
                c,
                k,
                &Entry::new(audit::SYSTEM, "retention.purged").details(json!({ "records": n })),
                now,
            )?;
        }
        Ok(n)
    })
}

// ---------------------------------------------------------------------------------------------
// Receipt

#[derive(Debug, Clone, Serialize, TS)]
pub struct Receipt {
    pub request_id: i64,
    pub subject: String,
    pub regime: String,
    pub received_at: String,
    pub completed_at: String,
    pub controller: crate::settings::OrgProfile,
    pub erased: Vec<PlanItem>,
    pub retained: Vec<PlanItem>,
    pub stripe_customers_deleted: Vec<String>,
    pub stripe_redaction_jobs: Vec<RedactionJobOutcome>,
    pub records_retained: i64,
}

pub fn receipt(ctx: &Context, id: i64) -> Result<Receipt> {
    let r = erasure_row(ctx, id)?;
    let state = load_state(ctx, id)?
        .filter(|s| s.finished_at.is_some())
        .ok_or_else(|| {
            Error::Blocked(format!(
                "request {id} has not been erased yet: run `privacy-desk dsr erase {id} --yes` first"
            ))
        })?;
    let res = result(id, &state);
    Ok(Receipt {
        request_id: id,
        subject: r.subject_hash,
        regime: r.regime,
        received_at: to_rfc3339(r.received_at),
        completed_at: res.completed_at.clone().unwrap_or_default(),
        controller: crate::settings::get(ctx)?.org,
        erased: state
            .plan
            .items
            .iter()
            .filter(|i| i.action == "erase")
            .cloned()
            .collect(),
        retained: state
            .plan
            .items
            .iter()
            .filter(|i| i.action == "retain")
            .cloned()
            .collect(),
        stripe_customers_deleted: res.stripe_customers_deleted,
        stripe_redaction_jobs: res.stripe_redaction_jobs,
        records_retained: state.records_retained,
    })
}

/// Writes the receipt: JSON when `out` ends in `.json`, else a readable HTML letter.
pub fn write_receipt(ctx: &Context, id: i64, out: &Path) -> Result<Receipt> {
    let rc = receipt(ctx, id)?;
    let body = if out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        serde_json::to_string_pretty(&rc).expect("JSON serialises")
    } else {
        receipt_html(&rc)
    };
    crate::files::write_private(out, |f| {
        std::io::Write::write_all(f, body.as_bytes())
            .map_err(|e| Error::Io(format!("cannot write {}: {e}", out.display())))
    })?;
    audit::record(
        ctx,
        Entry::new(audit::USER, "erasure.receipt_written")
            .request(id)
            .subject(&rc.subject),
    )?;
    Ok(rc)
}

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn receipt_html(rc: &Receipt) -> String {
    let org = &rc.controller;
    let regime = Regime::parse(&rc.regime).map(|r| r.label()).unwrap_or("");
    let rows = |items: &[PlanItem]| {
        items
            .iter()
            .map(|i| {
                format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&i.target),
                    esc(&i.reason),
                    esc(i.legal_basis.as_deref().unwrap_or("")),
                    esc(i.retain_until.as_deref().unwrap_or(""))
                )
            })
            .collect::<String>()
    };
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Erasure receipt — request {id}</title></head><body>\
<h1>Confirmation of erasure</h1>\
<p>From: {name}{addr}{email}{dpo}</p>\
<p>Your request reference: <b>#{id}</b> ({regime}), received {received}, completed {completed}.</p>\
<p>We have erased the personal data we held about you, as listed below. Where the law obliges us \
to keep a record, we kept it without your name, email or address, and only until the date shown.</p>\
<h2>Erased</h2><table border=\"1\"><tr><th>What</th><th>Details</th><th></th><th></th></tr>{erased}</table>\
<p>Stripe customer records deleted: {stripe}</p>{jobs}\
<h2>Kept</h2><table border=\"1\"><tr><th>What</th><th>Why</th><th>Legal basis</th><th>Until</th></tr>{kept}</table>\
<p>You may lodge a complaint with a supervisory authority.</p></body></html>",
        id = rc.request_id,
        name = esc(if org.name.is_empty() { "the controller" } else { &org.name }),
        addr = if org.address.is_empty() { String::new() } else { format!(", {}", esc(&org.address)) },
        email = if org.email.is_empty() { String::new() } else { format!(", {}", esc(&org.email)) },
        dpo = if org.dpo_name.is_empty() && org.dpo_email.is_empty() {
            String::new()
        } else {
            format!("; Data Protection Officer: {} {}", esc(&org.dpo_name), esc(&org.dpo_email))
        },
        regime = esc(regime),
        received = esc(&rc.received_at),
        completed = esc(&rc.completed_at),
        erased = rows(&rc.erased),
        stripe = if rc.stripe_customers_deleted.is_empty() {
            "none".to_owned()
        } else {
            esc(&rc.stripe_customers_deleted.join(", "))
        },
        jobs = if rc.stripe_redaction_jobs.is_empty() {
            String::new()
        } else {
            format!(
                "<p>Personal data redacted at Stripe by redaction job(s): {}. The payment records \
                 stay at Stripe without your personal data.</p>",
                esc(&rc
                    .stripe_redaction_jobs
                    .iter()
                    .map(|j| j.job_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "))
            )
        },
        kept = rows(&rc.retained),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_runs_to_the_end_of_the_year() {
        let t = crate::time::parse_time("2024-03-05", crate::time::DayEdge::Start).unwrap();
        assert_eq!(to_rfc3339(retain_until(t, 7)), "2032-01-01T00:00:00Z");
        assert_eq!(to_rfc3339(retain_until(t, 10)), "2035-01-01T00:00:00Z");
    }

    #[test]
    fn notes_lose_the_email_and_the_name() {
        let g = Gathered {
            subject: Some(sq::SubjectRow {
                id: 1,
                email: "zoe.q@example.org".into(),
                name: Some("Zoë Quintanilla".into()),
                status: "active".into(),
                created_at: 0,
                activity_count: 0,
            }),
            emails: Vec::new(),
            customers: Vec::new(),
            events: Vec::new(),
        };
        let scrub = scrubber(&g, Some("zoe.q@example.org"));
        assert_eq!(
            scrub("Called ZOË QUINTANILLA; Zoë confirmed ZOE.Q@example.org. Quintanillas Ltd"),
            "Called [erased]; [erased] confirmed [erased]. Quintanillas Ltd"
        );
        assert_eq!(scrub("nothing here"), "nothing here");
    }

    #[test]
    fn blockers_say_what_to_do() {
        assert!(blocker("invoice", "in_1", "open")
            .unwrap()
            .reason
            .contains("void"));
        assert!(blocker("invoice", "in_1", "paid").is_none());
        assert!(blocker("subscription", "sub_1", "active")
            .unwrap()
            .reason
            .contains("cancel"));
        assert!(blocker("subscription", "sub_1", "canceled").is_none());
        assert!(blocker("dispute", "dp_1", "needs_response").is_some());
        assert!(blocker("dispute", "dp_1", "won").is_none());
    }
}
