//! The run: a persisted state machine (`erasure_runs.state`, ids and keyed hashes only), its
//! steps in order, resuming after a crash, and recomputing the plan on resume.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use ts_rs::TS;

use super::plan::{compute_plan, plan_changes, Action, Plan, PlanItem};
use super::{erasure_row, fault, local, random_hex, stripe_step};
use crate::audit::{self, Entry};
use crate::context::Context;
use crate::domain::processors::ProcessorKind;
use crate::error::{Error, Result};
use crate::requests::{start_work, Status};
use crate::secrets::HashKey;
use crate::store::{requests as q, subjects as sq};
use crate::stripe::redaction::Objects;
use crate::time::{now_ms, to_rfc3339};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct RunCustomer {
    pub(super) processor_id: i64,
    pub(super) customer_ref: String,
    /// `None` once the processor was deleted (stored as `""` by versions before the enum).
    #[serde(deserialize_with = "kind_or_none")]
    pub(super) kind: Option<ProcessorKind>,
    pub(super) idempotency_key: String,
    /// Erased at Stripe by the processor's redaction job, not by a DELETE.
    #[serde(default)]
    pub(super) via_job: bool,
    /// Deleted at Stripe by the officer (recorded as resolved while no API key is set): a
    /// manual step, no call to Stripe.
    #[serde(default)]
    pub(super) manual: bool,
}

/// A stored processor kind; unknown or empty (a deleted processor) reads as `None`.
fn kind_or_none<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<ProcessorKind>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    Ok(s.and_then(|s| serde_json::from_value(serde_json::Value::String(s)).ok()))
}

/// A Stripe redaction job of the run (one per processor set to redaction jobs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct RunJob {
    pub(super) processor_id: i64,
    pub(super) objects: Objects,
    /// Prefix of the idempotency keys of the job's calls (create, validate, run).
    pub(super) idempotency_key: String,
    /// Stripe's `prj_…` id, committed as soon as Stripe answered the create.
    pub(super) job_id: Option<String>,
    /// The last status seen; `failed` once its validation errors were reported.
    pub(super) status: Option<String>,
    /// How many times the job was validated again.
    pub(super) validations: u32,
}

/// How long a run waits for Stripe to validate a job, then to finish redacting it.
pub(super) const VALIDATION_WAIT: Duration = Duration::from_secs(60);
pub(super) const REDACTION_WAIT: Duration = Duration::from_secs(10);

/// The persisted state of a run. Holds no email or name: ids and keyed hashes only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct RunState {
    pub(super) subject_id: Option<i64>,
    pub(super) customers: Vec<RunCustomer>,
    #[serde(default)]
    pub(super) jobs: Vec<RunJob>,
    pub(super) plan: Plan,
    pub(super) years: u32,
    pub(super) steps: Vec<String>,
    pub(super) events_deleted: i64,
    pub(super) records_retained: i64,
    pub(super) finished_at: Option<i64>,
    /// The local data is gone but the WAL checkpoint was held back (recorded once).
    #[serde(default)]
    pub(super) checkpoint_waiting: bool,
}

impl RunState {
    pub(super) fn done(&self, step: &str) -> bool {
        self.steps.iter().any(|s| s == step)
    }
}

pub(super) fn load_state(ctx: &Context, id: i64) -> Result<Option<RunState>> {
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
    pub status: Status,
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

pub(super) fn result(id: i64, s: &RunState) -> ErasureResult {
    ErasureResult {
        request_id: id,
        status: if s.finished_at.is_some() {
            Status::Completed
        } else {
            Status::InProgress
        },
        steps: s.steps.clone(),
        events_deleted: s.events_deleted,
        records_retained: s.records_retained,
        stripe_customers_deleted: s
            .customers
            .iter()
            // Those the officer deleted at Stripe by hand are manual steps, not listed here.
            .filter(|c| c.kind == Some(ProcessorKind::Stripe) && !c.manual && s.done(&step_name(c)))
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

pub(super) fn step_name(c: &RunCustomer) -> String {
    format!("processor:{}:{}", c.processor_id, c.customer_ref)
}

pub(super) fn job_step(j: &RunJob) -> String {
    format!("redaction:{}", j.processor_id)
}

/// Commits `state` with one audit entry.
pub(super) fn commit(
    ctx: &Context,
    key: &HashKey,
    id: i64,
    state: &RunState,
    entry: Entry,
) -> Result<()> {
    commit_suppressing(ctx, key, id, state, Vec::new(), entry)
}

/// Commits `state` with one audit entry, and the suppression `hashes` in the same transaction.
fn commit_suppressing(
    ctx: &Context,
    key: &HashKey,
    id: i64,
    state: &RunState,
    hashes: Vec<String>,
    entry: Entry,
) -> Result<()> {
    let text = serde_json::to_string(state).expect("state serialises");
    let key = key.clone();
    ctx.db.write(move |c| {
        let now = now_ms();
        for h in &hashes {
            q::suppress(c, h, id, now)?;
        }
        q::save_run_state(c, id, &text, now)?;
        audit::append(c, &key, &entry, now)?;
        Ok(())
    })
}

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
            if r.status == Status::Rejected {
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
                    .map(|(p, cus, k)| {
                        let mut rc = run_customer(id, &run, *p, cus, *k, c.jobs.contains_key(p));
                        rc.manual = c.manual.contains(&(*p, cus.clone()));
                        rc
                    })
                    .collect(),
                jobs: c
                    .jobs
                    .into_iter()
                    .map(|(p, objects)| run_job(id, &run, p, objects))
                    .collect(),
                years: crate::domain::settings::financial_retention(ctx)?.years,
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
        let e = entry("erasure.suppressed").details(json!({ "entries": hashes.len() }));
        commit_suppressing(ctx, &key, id, &state, hashes, e)?;
        fault("after-suppress");
    }

    // 2. Processors: a DELETE per Stripe customer, a recorded step for the others.
    stripe_step::delete_customers(ctx, &key, id, &hash, &mut state)?;

    // 2b. Stripe redaction jobs.
    for i in 0..state.jobs.len() {
        if !state.done(&job_step(&state.jobs[i])) {
            stripe_step::redact_at_stripe(ctx, &key, id, &hash, &mut state, i)?;
        }
    }

    // 3. Local data.
    local::erase_local(ctx, &key, &r, &mut state)?;

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
                 retries every minute while it runs, and you can run the erasure again; \
                 close other Privacy Desk windows or commands first"
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
            q::set_status(c, id, Status::Completed, now)?;
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

pub(super) const CHECKPOINT_WAIT: Duration = Duration::from_secs(5);

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
pub(super) fn suppression_hashes(
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

pub(super) fn run_customer(
    id: i64,
    run: &str,
    p: i64,
    cus: &str,
    kind: Option<ProcessorKind>,
    via_job: bool,
) -> RunCustomer {
    RunCustomer {
        processor_id: p,
        customer_ref: cus.to_owned(),
        kind,
        // One key per customer: Stripe refuses a key reused for another path.
        idempotency_key: format!("privacy-desk-erasure-{id}-{run}-{p}-{cus}"),
        via_job,
        manual: false,
    }
}

pub(super) fn run_job(id: i64, run: &str, p: i64, objects: Objects) -> RunJob {
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
pub(super) fn refuse_blocked(ctx: &Context, r: &q::RequestRow, plan: &Plan) -> Result<Error> {
    let blocked: Vec<&PlanItem> = plan
        .items
        .iter()
        .filter(|i| i.action == Action::Blocked)
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
pub(super) fn recompute(
    ctx: &Context,
    r: &q::RequestRow,
    key: &HashKey,
    state: &mut RunState,
) -> Result<()> {
    let erased: BTreeSet<(i64, String)> = state
        .customers
        .iter()
        .filter(|c| c.kind == Some(ProcessorKind::Stripe) && state.done(&step_name(c)))
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
    // Customers still to do follow what the officer recorded since (deleted at Stripe by
    // hand while no key is set).
    for c in state.customers.iter_mut() {
        if !state.steps.contains(&step_name(c)) {
            c.manual = fresh
                .manual
                .contains(&(c.processor_id, c.customer_ref.clone()));
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
        let mut rc = run_customer(r.id, &run, *p, cus, *kind, via_job);
        rc.manual = fresh.manual.contains(&(*p, cus.clone()));
        state.customers.push(rc);
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
    let e = Entry::new(audit::SYSTEM, "erasure.plan_changed")
        .request(r.id)
        .subject(&r.subject_hash)
        .details(json!({ "changed": state.plan.changed, "customers_added": added }));
    commit_suppressing(ctx, key, r.id, state, hashes, e)?;
    if state.plan.blocked {
        return Err(refuse_blocked(ctx, r, &state.plan)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run stored before the kind was an enum may hold `""` for a deleted processor: it
    /// still reads, as "no kind", and a Stripe customer still reads as Stripe.
    #[test]
    fn stored_customers_read_with_old_and_new_kinds() {
        let read = |kind: &str| -> RunCustomer {
            serde_json::from_str(&format!(
                r#"{{"processor_id":1,"customer_ref":"cus_1","kind":{kind},"idempotency_key":"k"}}"#
            ))
            .unwrap()
        };
        assert_eq!(read(r#""stripe""#).kind, Some(ProcessorKind::Stripe));
        assert_eq!(read(r#""""#).kind, None);
        assert_eq!(read("null").kind, None);
        let back = serde_json::to_string(&read(r#""stripe""#)).unwrap();
        assert!(back.contains(r#""kind":"stripe""#), "{back}");
    }
}
