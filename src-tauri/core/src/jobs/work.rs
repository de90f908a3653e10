//! What each job does when it runs: one blocking function per [`Job`], returning a summary in
//! words for the Dashboard, or the error that makes the scheduler try again sooner.

use serde::Serialize;
use ts_rs::TS;

use super::{Job, Options};
use crate::backup;
use crate::context::Context;
use crate::domain::processors::ProcessorKind;
use crate::domain::{activity, settings};
use crate::error::{Error, Result};
use crate::receiver::{DeliveryCaps, DELIVERIES_MAX_AGE_MS};
use crate::requests::{self, erasure};
use crate::secrets::SecretKind;
use crate::store::{deliveries, processors as pq, stripe_sync as sq};
use crate::stripe_sync;
use crate::time::count_of;

pub(super) fn run(job: Job, ctx: &Context, opts: &Options) -> Result<String> {
    let now = opts.clock.now_ms();
    match job {
        Job::CatchUp => catch_up(ctx),
        Job::StripePending => stripe_pending(ctx, opts),
        Job::Retention => retention(ctx, now),
        Job::Reminders => reminders(ctx, opts),
        Job::DeliveriesCap => {
            let caps = DeliveryCaps::default();
            let n = ctx.db.write(move |c| {
                deliveries::prune(c, caps.kept, caps.unknown_kept, now - DELIVERIES_MAX_AGE_MS)
            })?;
            Ok(format!(
                "{} removed",
                count_of(n as u64, "old delivery", "old deliveries")
            ))
        }
        Job::WaitingErasures => {
            let done = erasure::complete_waiting(ctx)?;
            Ok(format!(
                "{} completed",
                count_of(done.len() as u64, "erasure", "erasures")
            ))
        }
        Job::Backup => backup(ctx, opts, now),
    }
}

/// The scheduled backup; the first failure after a good one is told to the officer.
fn backup(ctx: &Context, opts: &Options, now: i64) -> Result<String> {
    let outcome = backup::schedule::run_due(ctx, now);
    if let (Err(e), Some(tell)) = (&outcome, &opts.on_backup_failed) {
        if backup::schedule::failures_in_a_row(ctx)? == 1 {
            tell(&e.to_string());
        }
    }
    outcome
}

/// Stripe processors, each with whether the keychain holds its API key.
fn stripe_processors(ctx: &Context) -> Result<Vec<(i64, bool)>> {
    ctx.db
        .read(pq::list)?
        .into_iter()
        .filter(|p| p.kind == ProcessorKind::Stripe)
        .map(|p| Ok((p.id, ctx.keychain.get(p.id, SecretKind::ApiKey)?.is_some())))
        .collect()
}

fn catch_up(ctx: &Context) -> Result<String> {
    let results = stripe_sync::catch_up_all(ctx);
    let mut new = 0;
    let mut failed = Vec::new();
    for (id, r) in &results {
        match r {
            Ok(c) => new += c.new,
            Err(e) => failed.push(format!("processor {id}: {e}")),
        }
    }
    if !failed.is_empty() {
        return Err(Error::Unavailable(failed.join("; ")));
    }
    Ok(match results.len() {
        0 => "no Stripe processor with an API key".to_owned(),
        n => format!(
            "{} from {}",
            count_of(new, "new event", "new events"),
            count_of(n as u64, "Stripe account", "Stripe accounts")
        ),
    })
}

/// Events of one Stripe processor that wait for its API key.
#[derive(Debug, Clone, Serialize, TS)]
pub struct WaitingForKey {
    pub processor_id: i64,
    /// Thin events whose payload is still to be fetched.
    pub thin_events: i64,
    /// Customers that stored events name and that were never fetched.
    pub unknown_customers: i64,
    /// What to do about it.
    pub fix: String,
}

/// Bounds the counting: the Dashboard says "1000 or more" beyond it.
const COUNT_UP_TO: u32 = 1000;

fn pending_counts(ctx: &Context, id: i64) -> Result<(i64, i64)> {
    ctx.db.read(|c| {
        let thin = sq::awaiting_fetch(c, id, COUNT_UP_TO)?.len() as i64;
        let customers = sq::unknown_customers(c, id, COUNT_UP_TO)?
            .iter()
            .filter(|cus| stripe_sync::is_customer_id(cus))
            .count() as i64;
        Ok((thin, customers))
    })
}

/// What to do, naming the Stripe permissions the waiting work needs.
fn fix_for(thin: bool, customers: bool) -> String {
    let needs = match (thin, customers) {
        (true, true) => "Customers: Read and Events: Read",
        (true, false) => "Events: Read",
        _ => "Customers: Read",
    };
    format!(
        "add a Stripe restricted key with {needs} on the processor's page (Processors → the \
         processor → Restricted API key)"
    )
}

/// The Stripe processors without an API key whose events wait for one.
pub fn waiting_for_key(ctx: &Context) -> Result<Vec<WaitingForKey>> {
    let mut out = Vec::new();
    for (id, has_key) in stripe_processors(ctx)? {
        if has_key {
            continue;
        }
        let (thin_events, unknown_customers) = pending_counts(ctx, id)?;
        if thin_events + unknown_customers > 0 {
            out.push(WaitingForKey {
                processor_id: id,
                thin_events,
                unknown_customers,
                fix: fix_for(thin_events > 0, unknown_customers > 0),
            });
        }
    }
    Ok(out)
}

/// For every Stripe processor with a key: the customers its events name that were never
/// fetched, and its thin events' payloads; the events are linked as they come.
fn stripe_pending(ctx: &Context, opts: &Options) -> Result<String> {
    let (mut customers, mut thin, mut waiting) = (0, 0, 0);
    let mut failed = Vec::new();
    for (id, has_key) in stripe_processors(ctx)? {
        let (t, c) = pending_counts(ctx, id)?;
        if t + c == 0 {
            continue;
        }
        if !has_key {
            waiting += t + c;
            continue;
        }
        // Thin events first: the object fetched may name a customer still to look up.
        let fetched = stripe_sync::fetch_thin_events(ctx, id).and_then(|f| {
            let l = stripe_sync::lookup_customers(ctx, id)?;
            Ok((l.looked_up + l.missing, f.fetched + f.missing))
        });
        match fetched {
            Ok((c, t)) => {
                customers += c;
                thin += t;
            }
            Err(e) => failed.push(format!("processor {id}: {e}")),
        }
    }
    if let (Some(hook), true) = (&opts.on_linked, customers + thin > 0) {
        hook((customers + thin) as usize);
    }
    if !failed.is_empty() {
        return Err(Error::Unavailable(failed.join("; ")));
    }
    let mut summary = format!(
        "{} looked up, {} fetched",
        count_of(customers, "customer", "customers"),
        count_of(thin, "thin event", "thin events")
    );
    if waiting > 0 {
        let n = count_of(waiting, "event waits", "events wait");
        summary.push_str(&format!("; {n} for a Stripe API key"));
    }
    Ok(summary)
}

/// Retained records past their retention, and events older than the activity log keeps.
fn retention(ctx: &Context, now: i64) -> Result<String> {
    let retained = erasure::purge_expired(ctx, now)?;
    let events = match settings::get(ctx)?.retention_days {
        Some(days) => activity::purge_older_than(&ctx.db, days, now)?,
        None => 0,
    };
    Ok(format!(
        "{} and {} deleted",
        count_of(retained as u64, "retained record", "retained records"),
        count_of(events as u64, "old event", "old events")
    ))
}

fn reminders(ctx: &Context, opts: &Options) -> Result<String> {
    let Some(show) = &opts.on_reminder else {
        return Ok("no window to show reminders".to_owned());
    };
    let fresh = requests::take_new_reminders(ctx)?;
    for r in &fresh {
        show(r);
    }
    Ok(format!(
        "{} shown",
        count_of(fresh.len() as u64, "reminder", "reminders")
    ))
}
