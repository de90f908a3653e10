//! The Stripe side of a run: a DELETE per customer, or a redaction job per processor set to
//! them (create, wait for validation, report its errors, run).

use std::collections::BTreeMap;

use serde_json::json;

use super::fault;
use super::random_hex;
use super::run::{commit, job_step, step_name, RunState, REDACTION_WAIT, VALIDATION_WAIT};
use crate::audit::{self, Entry};
use crate::context::Context;
use crate::domain::processors::ProcessorKind;
use crate::error::{Error, Result};
use crate::secrets::HashKey;
use crate::stripe::client::StripeError;
use crate::stripe::redaction;

/// Step 2: per customer of the run not yet done (and not erased by a redaction job), a
/// `DELETE /v1/customers/{id}` with the run's idempotency key (a 404: gone already), or for a
/// processor Privacy Desk cannot reach (or a customer the officer deleted at Stripe
/// themselves, with no API key set), a recorded manual step.
pub(super) fn delete_customers(
    ctx: &Context,
    key: &HashKey,
    id: i64,
    hash: &str,
    state: &mut RunState,
) -> Result<()> {
    let entry = |action: &str| Entry::new(audit::SYSTEM, action).request(id).subject(hash);
    for cust in state.customers.clone() {
        let step = step_name(&cust);
        if state.done(&step) || cust.via_job {
            continue;
        }
        let outcome = if cust.kind == Some(ProcessorKind::Stripe) && !cust.manual {
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
            key,
            id,
            state,
            entry(if outcome == "manual" {
                "erasure.processor_manual_step"
            } else {
                "erasure.stripe_customer_deleted"
            })
            .details(json!({
                "processor_id": cust.processor_id,
                "customer": cust.customer_ref,
                "outcome": outcome,
                "resolved_by_user": cust.manual,
            })),
        )?;
    }
    Ok(())
}

/// at once), wait for validation, report validation errors (the next run validates again), run,
/// and mark the step done once Stripe accepted the run.
pub(super) fn redact_at_stripe(
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
