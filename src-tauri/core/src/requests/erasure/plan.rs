//! What the app holds about a subject, and the plan: erase / retain (with legal basis and
//! date) / blocked (with what to do), checked against Stripe where a key is set.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use super::resolve::{resolutions, Resolution};
use super::run::load_state;
use super::{
    erasure_row, is_financial, retain_until, ACCOUNTABILITY_BASIS, FINANCIAL_BASIS,
    SUPPRESSION_BASIS,
};
use crate::audit::{self, Entry};
use crate::context::Context;
use crate::domain::processors::ProcessorKind;
use crate::error::Result;
use crate::ingest::model::Minimised;
use crate::requests::steps::PLAN_REVIEWED;
use crate::secrets::SecretKind;
use crate::store::{processors as pq, requests as q, subjects as sq};
use crate::stripe::client::{Client, StripeError};
use crate::stripe::redaction::{self, Objects};
use crate::stripe_sync::ErasureMethod;
use crate::time::{count_of, to_rfc3339};

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct PlanItem {
    /// What the item is about: `local:profile`, `stripe:customer:cus_…`, `stripe:invoice:in_…`.
    pub target: String,
    /// `erase`, `retain` or `blocked`.
    #[ts(type = "string")]
    pub action: Action,
    pub legal_basis: Option<String>,
    pub retain_until: Option<String>,
    /// Why, and for `blocked` what to do first.
    pub reason: String,
}

/// What the plan does with an item. Serialised as `erase`, `retain`, `blocked` (the names the
/// CLI's JSON and the window use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Erase,
    Retain,
    Blocked,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Erase => "erase",
            Action::Retain => "retain",
            Action::Blocked => "blocked",
        }
    }
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

pub(super) fn item(
    target: impl Into<String>,
    action: Action,
    reason: impl Into<String>,
) -> PlanItem {
    PlanItem {
        target: target.into(),
        action,
        legal_basis: None,
        retain_until: None,
        reason: reason.into(),
    }
}

/// What the app holds about a subject.
/// A subject's customer at a processor: (processor, customer id, processor kind; `None` once
/// the processor was deleted).
pub(crate) type Customer = (i64, String, Option<ProcessorKind>);

pub(crate) struct Gathered {
    pub subject: Option<sq::SubjectRow>,
    pub emails: Vec<sq::EmailRow>,
    pub customers: Vec<Customer>,
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
            let kind = pq::get(c, x.processor_id)?.map(|p| p.kind);
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
pub(super) fn redaction_jobs(ctx: &Context, g: &Gathered) -> Result<BTreeMap<i64, Objects>> {
    let mut pids: BTreeSet<i64> = g.customers.iter().map(|c| c.0).collect();
    pids.extend(g.events.iter().map(|e| e.processor_id));
    let mut out = BTreeMap::new();
    for pid in pids {
        let stripe = ctx
            .db
            .read(|c| pq::get(c, pid))?
            .is_some_and(|p| p.kind == ProcessorKind::Stripe);
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

pub(super) fn describe(objects: &Objects) -> String {
    objects
        .iter()
        .map(|(kind, ids)| format!("{} {}", ids.len(), kind.replace('_', " ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The latest known status of each invoice, subscription and dispute in `events`.
pub(super) fn local_statuses(events: &[q::SubjectEvent]) -> BTreeMap<String, (String, String)> {
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

/// A processor's name, for the way to its page (`processor N` when it cannot be read).
fn processor_name(ctx: &Context, pid: i64) -> String {
    match ctx.db.read(|c| pq::get(c, pid)) {
        Ok(Some(p)) => p.name,
        _ => format!("processor {pid}"),
    }
}

pub(super) fn blocker(object: &str, id: &str, status: &str) -> Option<PlanItem> {
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
    Some(item(target, Action::Blocked, reason))
}

/// Asks Stripe for the customer's invoices and subscriptions (status as of now); returns how
/// many objects of another customer the lists held (left out: they cannot block this erasure).
pub(super) fn live_statuses(
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

/// The erasure plan of request `id`: computed now, or once a run started, the plan it was
/// computed (a resumed run computes it again: `changed` says what moved). A plan computed now
/// is recorded as reviewed (`erasure.plan_reviewed`, with its blocked targets): the request's
/// next step follows from it.
pub fn plan(ctx: &Context, id: i64) -> Result<Plan> {
    let r = erasure_row(ctx, id)?;
    if let Some(state) = load_state(ctx, id)? {
        return Ok(state.plan);
    }
    let plan = compute_plan(ctx, &r, &BTreeSet::new())?.plan;
    record_review(ctx, &r, &plan)?;
    Ok(plan)
}

/// Records that the officer reviewed `plan` of an open request, unless the request's last
/// entry is the same review (a page shown again adds nothing to the trail).
fn record_review(ctx: &Context, r: &q::RequestRow, plan: &Plan) -> Result<()> {
    if r.status.is_closed() {
        return Ok(());
    }
    let blocked: Vec<&str> = plan
        .items
        .iter()
        .filter(|i| i.action == Action::Blocked)
        .map(|i| i.target.as_str())
        .collect();
    let entries = audit::list(ctx, Some(r.id))?;
    let same = entries.last().is_some_and(|e| {
        e.action == PLAN_REVIEWED
            && e.details["blocked"].as_array().is_some_and(|a| {
                a.iter().map(Value::as_str).collect::<Vec<_>>()
                    == blocked.iter().map(|b| Some(*b)).collect::<Vec<_>>()
            })
    });
    if same {
        return Ok(());
    }
    audit::record(
        ctx,
        Entry::new(audit::USER, PLAN_REVIEWED)
            .request(r.id)
            .subject(&r.subject_hash)
            .details(serde_json::json!({ "blocked": blocked, "stripe": plan.stripe })),
    )?;
    Ok(())
}

/// A plan and what it was computed from: the subject's customers at each processor (those
/// linked locally and those Stripe has under the request's email) and the redaction jobs.
pub(super) struct Computed {
    pub(super) plan: Plan,
    pub(super) subject_id: Option<i64>,
    pub(super) customers: Vec<Customer>,
    pub(super) jobs: BTreeMap<i64, Objects>,
    /// Stripe customers the officer deleted at Stripe themselves (no API key here): the run
    /// records a manual step for them instead of calling Stripe.
    pub(super) manual: BTreeSet<(i64, String)>,
}

/// Stripe customers under `email` that are not linked locally (created at Stripe after the
/// last event Privacy Desk saw, or never seen): asked from every Stripe processor with a key.
/// Each answer's email is checked, whatever filter Stripe applied. Network trouble → `None`.
pub(super) fn stripe_customers_by_email(
    ctx: &Context,
    email: &str,
    known: &[Customer],
) -> Result<Option<Vec<Customer>>> {
    let mut found = Vec::new();
    let stripes: Vec<i64> = ctx
        .db
        .read(pq::list)?
        .into_iter()
        .filter(|p| p.kind == ProcessorKind::Stripe)
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
                        found.push((pid, id.to_owned(), Some(ProcessorKind::Stripe)));
                    }
                }
            }
            Ok(true)
        });
        match listed {
            Ok(()) => {}
            Err(e) if e.is_unreachable() => {
                tracing::warn!(error = %e, "erasure plan: Stripe unreachable");
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Some(found))
}

pub(super) fn customer_item(cus: &str) -> PlanItem {
    item(
        format!("stripe:customer:{cus}"),
        Action::Erase,
        format!(
            "DELETE /v1/customers/{cus}: Stripe deletes the customer and its saved payment \
             methods (Stripe keeps its own payment records under its own legal obligations)"
        ),
    )
}

/// Computes the plan from what is held now. `erased` are the (processor, customer) pairs a run
/// has already deleted at Stripe: they are listed, but Stripe is not asked about them again.
pub(super) fn compute_plan(
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
    let years = crate::domain::settings::financial_retention(ctx)?.years;
    let mut items = Vec::new();
    let mut statuses = local_statuses(&g.events);
    let mut foreign_objects_dropped = 0u64;
    let mut jobs = redaction_jobs(ctx, &g)?;
    let resolved = resolutions(ctx, r.id)?;
    // Invoices, subscriptions and disputes whose status Stripe gave now (not from events).
    let mut live_ids = BTreeSet::new();
    let mut manual = BTreeSet::new();

    if let Some(s) = &g.subject {
        items.push(item(
            "local:profile",
            Action::Erase,
            format!(
                "the data subject's record: {} with their history, {}, and {}",
                count_of(g.emails.len() as u64, "email address", "email addresses"),
                if s.name.is_some() {
                    "the name"
                } else {
                    "no name"
                },
                count_of(
                    g.customers.len() as u64,
                    "processor customer id",
                    "processor customer ids"
                )
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
            Action::Erase,
            format!(
                "{} in the Processing Activity Log (customer records, payment methods and \
                 other non-financial events) are deleted",
                count_of(other.len() as u64, "event", "events")
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
            action: Action::Retain,
            legal_basis: Some(FINANCIAL_BASIS.into()),
            retain_until: Some(to_rfc3339(until)),
            reason: format!(
                "{} (charges, payments, invoices, refunds…) are kept \
                 pseudonymised for {years} years after the end of their year: amounts, \
                 currency, dates and Stripe ids stay; email, name and address are removed. \
                 They are deleted automatically when the retention ends",
                count_of(fin.len() as u64, "financial record", "financial records")
            ),
        });
    }

    for (pid, cus, kind) in &g.customers {
        if *kind != Some(ProcessorKind::Stripe) {
            let name = ctx
                .db
                .read(|c| pq::get(c, *pid))?
                .map(|p| p.name)
                .unwrap_or_default();
            items.push(item(
                format!("processor:{pid}:{cus}"),
                Action::Erase,
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
                let target = format!("stripe:customer:{cus}");
                if let Some(res) = resolved.get(&target) {
                    manual.insert((*pid, cus.clone()));
                    items.push(item(
                        target,
                        Action::Erase,
                        format!(
                            "{}. Processor {pid} has no Stripe API key, so Privacy Desk does \
                             not call Stripe: the erasure records this as a manual step",
                            res.reason()
                        ),
                    ));
                    continue;
                }
                items.push(item(
                    target,
                    Action::Blocked,
                    format!(
                        "processor {pid} has no Stripe API key, so the customer cannot be \
                         deleted at Stripe: add a restricted key with customer write \
                         permission on its page (Processors → {name} → Restricted API key), \
                         or delete the customer at Stripe yourself and record that you did",
                        name = processor_name(ctx, *pid)
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
                let mut live = BTreeMap::new();
                let asked = live_statuses(&client, cus, &mut live);
                live_ids.extend(live.keys().cloned());
                statuses.extend(live);
                match asked {
                    Ok(n) => {
                        foreign_objects_dropped += n as u64;
                        if stripe != "offline" {
                            stripe = "live".into();
                        }
                    }
                    Err(e) if e.is_unreachable() => {
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
    let mut keyless = BTreeSet::new();
    for (pid, objects) in &jobs {
        if ctx.keychain.get(*pid, SecretKind::ApiKey)?.is_none() {
            keyless.insert(*pid);
            // With a customer there, the customer loop has already said so.
            if !g.customers.iter().any(|c| c.0 == *pid) {
                stripe = "not_configured".into();
                let target = format!("stripe:redaction_job:{pid}");
                items.push(match resolved.get(&target) {
                    Some(res) => item(
                        target,
                        Action::Erase,
                        format!(
                            "{}. Processor {pid} has no Stripe API key, so Privacy Desk does \
                             not call Stripe for it",
                            res.reason()
                        ),
                    ),
                    None => item(
                        target,
                        Action::Blocked,
                        format!(
                            "processor {pid} has no Stripe API key, so Stripe cannot redact \
                             the subject's data: add a restricted key on its page (Processors \
                             → {name} → Restricted API key), or remove the data at Stripe \
                             yourself and record that you did",
                            name = processor_name(ctx, *pid)
                        ),
                    ),
                });
            }
            continue;
        }
        items.push(item(
            format!("stripe:redaction_job:{pid}"),
            Action::Erase,
            format!(
                "a Stripe redaction job (processor {pid}) over {}: Stripe validates them, then \
                 permanently removes the personal data (name, email, address, phone…) from \
                 them and the objects related to them; the payment records stay at Stripe \
                 without personal data",
                describe(objects)
            ),
        ));
    }
    // A processor without a key gets no redaction job: its items are blocked above, or the
    // officer resolved them at Stripe (manual steps).
    jobs.retain(|pid, _| !keyless.contains(pid));
    for (id, (object, st)) in &statuses {
        if let Some(b) = blocker(object, id, st) {
            let res = resolved.get(&b.target);
            items.push(resolved_blocker(b, res, live_ids.contains(id), st));
        }
    }
    let data_held = g.subject.is_some() || !g.events.is_empty();
    if data_held {
        items.push(PlanItem {
            target: "local:suppression".into(),
            action: Action::Retain,
            legal_basis: Some(SUPPRESSION_BASIS.into()),
            retain_until: None,
            reason: "a keyed hash of each email address and customer id (not the values) stops \
                     later events from bringing the personal data back"
                .into(),
        });
    }
    items.push(PlanItem {
        target: "local:requests".into(),
        action: Action::Retain,
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
        blocked: items.iter().any(|i| i.action == Action::Blocked),
        items,
        foreign_objects_dropped,
        changed: Vec::new(),
    };
    Ok(Computed {
        plan,
        subject_id: g.subject.as_ref().map(|s| s.id),
        customers: g.customers,
        jobs,
        manual,
    })
}

/// A status blocker the officer recorded as resolved at Stripe: erased, unless Stripe's live
/// answer (`live`) still gives the blocking status `status` — then it stays blocked and says
/// that the live check disagrees.
fn resolved_blocker(b: PlanItem, res: Option<&Resolution>, live: bool, status: &str) -> PlanItem {
    match res {
        None => b,
        Some(res) if live => PlanItem {
            reason: format!(
                "{}. You recorded on {} that this was resolved at Stripe, but the live check \
                 at Stripe disagrees: it still says {status}",
                b.reason, res.day
            ),
            ..b
        },
        Some(res) => item(b.target, Action::Erase, res.reason()),
    }
}

/// What moved between two plans of one run, as `target: before → now` (`—` for absent).
pub(super) fn plan_changes(before: &Plan, now: &Plan) -> Vec<String> {
    let map = |p: &Plan| -> BTreeMap<String, Action> {
        p.items
            .iter()
            .map(|i| (i.target.clone(), i.action))
            .collect()
    };
    let (b, n) = (map(before), map(now));
    let mut targets: BTreeSet<&String> = b.keys().collect();
    targets.extend(n.keys());
    targets
        .into_iter()
        .filter(|t| b.get(*t) != n.get(*t))
        .map(|t| {
            let side = |m: &BTreeMap<String, Action>| m.get(t).map_or("—", |a| a.as_str());
            format!("{t}: {} → {}", side(&b), side(&n))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
