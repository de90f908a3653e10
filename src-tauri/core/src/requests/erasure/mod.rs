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
//!
//! A blocked item the officer settled at Stripe themselves is recorded as resolved
//! (`resolve.rs`): the next plan erases it (a customer without an API key here becomes a
//! manual step of the run), unless Stripe's live answer disagrees.
//!
//! Files: `plan.rs` (what is held, the plan, blockers), `resolve.rs` (blockers resolved at
//! Stripe by the officer), `run.rs` (the persisted run and its steps in order, resume and
//! recompute), `stripe_step.rs` (DELETEs and redaction jobs at Stripe), `local.rs` (the local
//! erasure, free-text scrubbing, the retention purge), `receipt.rs` (the receipt for the data
//! subject).

mod local;
mod plan;
mod receipt;
mod resolve;
mod run;
mod stripe_step;

use chrono::{Datelike, NaiveDate, TimeZone, Utc};

use super::{row, Kind};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::store::requests as q;

pub use self::{
    local::purge_expired,
    plan::{plan, Plan, PlanItem},
    receipt::{receipt, write_receipt, Receipt},
    resolve::resolve_blocker,
    run::{complete_waiting, execute, ErasureResult, RedactionJobOutcome},
};
pub(crate) use plan::gather;

/// Request `id`'s erasure run as its next step sees it (`None`: no run started).
pub(crate) fn run_facts(ctx: &Context, id: i64) -> Result<Option<super::steps::RunFacts>> {
    Ok(run::load_state(ctx, id)?.map(|s| super::steps::RunFacts {
        finished: s.finished_at.is_some(),
        blocked: s.plan.blocked,
    }))
}

/// A function that takes request `r`'s subject's email addresses and name out of a text
/// (replaced by `[the person]`), for what the officer writes into the audit trail.
pub(crate) fn without_personal_data(
    ctx: &Context,
    r: &q::RequestRow,
) -> Result<impl Fn(&str) -> String> {
    let g = gather(ctx, r.email.as_deref(), None)?;
    Ok(local::scrubber(&g, r.email.as_deref(), "[the person]"))
}

/// Legal basis for keeping financial records after an erasure.
pub(crate) const FINANCIAL_BASIS: &str =
    "GDPR Art. 17(3)(b) and Art. 6(1)(c): legal obligation to keep \
     accounting and tax records";
const ACCOUNTABILITY_BASIS: &str = "GDPR Art. 5(2) and Art. 17(3)(e): accountability, evidence \
     that the request was answered";
const SUPPRESSION_BASIS: &str =
    "GDPR Art. 17 and Art. 6(1)(c): needed to keep the erasure effective";

/// Test hook: `PRIVACY_DESK_FAULT=erasure:<point>` aborts the process at that point, to prove
/// that a crash there resumes cleanly. Points: `after-suppress`, `after-stripe-call`,
/// `after-redaction-job-created`, `after-local`.
pub(crate) const FAULT_ENV: &str = "PRIVACY_DESK_FAULT";

fn fault(point: &str) {
    if std::env::var(FAULT_ENV).ok().as_deref() == Some(&format!("erasure:{point}")) {
        eprintln!("fault injected: erasure:{point}");
        // Like a crash: no cleanup, no further writes (exit code 86).
        std::process::exit(86);
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

fn erasure_row(ctx: &Context, id: i64) -> Result<q::RequestRow> {
    let r = row(ctx, id)?;
    if r.kind != Kind::Erasure {
        return Err(Error::invalid(format!(
            "request {id} is an {} request, not an erasure",
            r.kind
        )));
    }
    Ok(r)
}

fn random_hex() -> Result<String> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b)
        .map_err(|e| Error::Io(format!("the OS random number generator failed: {e}")))?;
    Ok(hex::encode(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::to_rfc3339;

    #[test]
    fn retention_runs_to_the_end_of_the_year() {
        let t = crate::time::parse_time("2024-03-05", crate::time::DayEdge::Start).unwrap();
        assert_eq!(to_rfc3339(retain_until(t, 7)), "2032-01-01T00:00:00Z");
        assert_eq!(to_rfc3339(retain_until(t, 10)), "2035-01-01T00:00:00Z");
    }
}
