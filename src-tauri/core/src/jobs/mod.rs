//! Background work in one place. One [`Scheduler`], run the same way by `serve` and by the
//! desktop app, owns every job that runs without a user asking: the catch-up with Stripe, the
//! customer lookups and thin-event fetches that new events need, the retention purges, the
//! deadline reminders, the deliveries log's cap and the erasures waiting for their WAL
//! checkpoint ([`Job`]).
//!
//! Each job is a tokio task that waits — for its next time, a nudge, or the cancellation
//! token — and then runs its work (`work.rs`) on a blocking thread, since the work uses the
//! blocking database and Stripe clients. No thread sleeps in a loop to look for work: events
//! that need Stripe nudge [`Job::StripePending`] through a [`Nudger`], and the wall clock
//! jumping ahead of the monotonic one (the laptop woke up) nudges the catch-up and the
//! retention purge. After each run the outcome goes to the `jobs` table, so `privacy-desk jobs`
//! and the Dashboard can show it from another process ([`report`]).

pub mod clock;
mod work;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::requests::Reminder;
use crate::store::jobs as q;
use crate::time::to_rfc3339;
pub use clock::{Clock, ManualClock, SystemClock};
pub use work::{waiting_for_key, WaitingForKey};

/// A background job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Job {
    /// Events missed while nothing was receiving (on start, every 15 minutes, after a wake).
    CatchUp,
    /// Customers that new events name and thin events' payloads, fetched from Stripe.
    StripePending,
    /// Retained financial records past their retention, and the activity log's retention.
    Retention,
    /// Desktop notifications for requests due in 7 or 2 days or overdue.
    Reminders,
    /// The deliveries log kept to its size and 30 days.
    DeliveriesCap,
    /// Erasures whose last step, the WAL checkpoint, could not run yet.
    WaitingErasures,
    /// The daily backup into the chosen folder, when it is on (`backup::schedule`).
    Backup,
}

impl Job {
    pub const ALL: [Job; 7] = [
        Job::CatchUp,
        Job::StripePending,
        Job::Retention,
        Job::Reminders,
        Job::DeliveriesCap,
        Job::WaitingErasures,
        Job::Backup,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Job::CatchUp => "catch_up",
            Job::StripePending => "stripe_pending",
            Job::Retention => "retention",
            Job::Reminders => "reminders",
            Job::DeliveriesCap => "deliveries_cap",
            Job::WaitingErasures => "waiting_erasures",
            Job::Backup => "backup",
        }
    }

    /// What it does, in the Dashboard's words.
    pub fn title(self) -> &'static str {
        match self {
            Job::CatchUp => "Catch up with Stripe",
            Job::StripePending => "Customer lookups and thin events",
            Job::Retention => "Retention purges",
            Job::Reminders => "Deadline reminders",
            Job::DeliveriesCap => "Deliveries log cap",
            Job::WaitingErasures => "Erasures waiting to finish",
            Job::Backup => "Daily backup",
        }
    }

    /// How long after a successful run it runs again if nothing nudges it.
    pub fn period(self) -> Duration {
        match self {
            Job::CatchUp => Duration::from_secs(15 * 60),
            // A sweep for what a nudge missed (an event stored while it ran).
            Job::StripePending => Duration::from_secs(5 * 60),
            Job::Retention => Duration::from_secs(24 * 3600),
            // Looks each hour whether the last good backup is a day old.
            Job::Reminders | Job::DeliveriesCap | Job::Backup => Duration::from_secs(3600),
            Job::WaitingErasures => Duration::from_secs(60),
        }
    }

    /// What the report says of it before its first run.
    fn not_run_yet(self) -> &'static str {
        match self {
            Job::Reminders => "runs only in the desktop app, which shows the reminders",
            _ => "not run yet",
        }
    }

    fn index(self) -> usize {
        Job::ALL.iter().position(|j| *j == self).unwrap_or(0)
    }
}

/// After a nudge, more events usually follow at once: the job waits this long to take them
/// in one run (and one batch of Stripe requests).
const NUDGE_BATCH: Duration = Duration::from_millis(250);
/// How often the wall clock is compared with the monotonic one to notice a wake from sleep.
const WAKE_CHECK_EVERY: Duration = Duration::from_secs(30);
/// The wall clock moving this much further than the monotonic one means the computer slept.
const WAKE_JUMP: Duration = Duration::from_secs(60);

/// When a failed run is tried again: 2 s, 4 s, 8 s … but never later than the job's period.
pub(crate) fn retry_after(job: Job, failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    Duration::from_secs(2u64 << exp).min(job.period())
}

/// Shows one deadline reminder.
pub(crate) type OnReminder = Arc<dyn Fn(&Reminder) + Send + Sync>;
/// Tells the officer that the scheduled backup failed (its error, in words).
pub(crate) type OnBackupFailed = Arc<dyn Fn(&str) + Send + Sync>;

/// What the scheduler needs from the program that runs it.
#[derive(Clone)]
pub struct Options {
    pub clock: Arc<dyn Clock>,
    /// Shows a deadline reminder (the window's notification). Without one the reminders job
    /// does not run: a reminder is marked shown only where someone sees it.
    pub on_reminder: Option<OnReminder>,
    /// Hears that a job linked events (the window refreshes the Activity Log).
    pub on_linked: Option<crate::ingest::link::OnLinked>,
    /// Hears that a scheduled backup failed, once per run of failures (the window's
    /// notification).
    pub on_backup_failed: Option<OnBackupFailed>,
    periods: [Duration; Job::ALL.len()],
}

impl Default for Options {
    fn default() -> Self {
        Options {
            clock: Arc::new(SystemClock),
            on_reminder: None,
            on_linked: None,
            on_backup_failed: None,
            periods: Job::ALL.map(Job::period),
        }
    }
}

impl Options {
    /// Runs `job` every `period` instead of its own (tests).
    pub fn with_period(mut self, job: Job, period: Duration) -> Options {
        self.periods[job.index()] = period;
        self
    }
}

/// Wakes jobs early. Cheap to clone; never blocks.
#[derive(Clone)]
pub struct Nudger {
    notifies: Arc<[Notify; Job::ALL.len()]>,
}

impl Nudger {
    fn new() -> Nudger {
        Nudger {
            notifies: Arc::new(std::array::from_fn(|_| Notify::new())),
        }
    }

    /// Makes `job` run soon (within [`NUDGE_BATCH`] when idle, or right after the run in
    /// flight). Nudges coalesce.
    pub fn nudge(&self, job: Job) {
        self.notifies[job.index()].notify_one();
    }

    /// Sets the receiver's hooks that call for the Stripe job: a thin event was stored, or
    /// linking left events waiting for their customer. (`serve`, the window and the scale
    /// bench run the receiver with the jobs.)
    pub fn nudge_from(&self, hooks: &mut crate::receiver::Hooks) {
        let stripe = |me: Nudger| -> crate::ingest::link::OnLinked {
            Arc::new(move |_| me.nudge(Job::StripePending))
        };
        hooks.on_unlinked = Some(stripe(self.clone()));
        hooks.on_thin_event = Some(stripe(self.clone()));
    }
}

/// The running jobs. Dropping it (or [`Scheduler::shutdown`]) cancels them; a run in flight
/// finishes on its own thread (each job commits as it goes and resumes next time).
pub struct Scheduler {
    cancel: CancellationToken,
    nudger: Nudger,
    ctx: Context,
    /// The runtime the jobs run on, when the scheduler made its own.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Scheduler {
    /// Starts every job on a runtime of its own (one thread, named `jobs`).
    pub fn start(ctx: &Context, opts: Options) -> Result<Scheduler> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("jobs")
            .enable_all()
            .build()
            .map_err(|e| Error::Io(format!("cannot start the background jobs: {e}")))?;
        let mut s = Scheduler::start_on(runtime.handle(), ctx, opts);
        s.runtime = Some(runtime);
        Ok(s)
    }

    /// Starts every job on `handle`'s runtime.
    pub fn start_on(handle: &tokio::runtime::Handle, ctx: &Context, opts: Options) -> Scheduler {
        let cancel = CancellationToken::new();
        let nudger = Nudger::new();
        for job in Job::ALL {
            if job == Job::Reminders && opts.on_reminder.is_none() {
                continue;
            }
            handle.spawn(run(
                job,
                ctx.clone(),
                opts.clone(),
                nudger.clone(),
                cancel.clone(),
            ));
        }
        handle.spawn(watch_for_wake(
            opts.clock.clone(),
            nudger.clone(),
            cancel.clone(),
        ));
        Scheduler {
            cancel,
            nudger,
            ctx: ctx.clone(),
            runtime: None,
        }
    }

    pub fn nudger(&self) -> Nudger {
        self.nudger.clone()
    }

    /// Stops the jobs and marks them not scheduled.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if self.cancel.is_cancelled() {
            return;
        }
        self.cancel.cancel();
        if let Some(rt) = self.runtime.take() {
            // A Stripe request in flight is not waited for: its run resumes next time.
            rt.shutdown_timeout(Duration::from_secs(2));
        }
        if let Err(e) = self.ctx.db.write(q::stopped) {
            tracing::warn!(error = %e, "recording that the jobs stopped failed");
        }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One job's life: run at start, then again after its period (or a nudge), and after a
/// failure again sooner (`retry_after`), not earlier for a nudge.
async fn run(job: Job, ctx: Context, opts: Options, nudger: Nudger, cancel: CancellationToken) {
    let period = opts.periods[job.index()];
    let notify = &nudger.notifies[job.index()];
    let mut failures: u32 = 0;
    let mut wait = Duration::ZERO;
    loop {
        let next = opts.clock.now_ms() + duration_ms(wait);
        if wait > Duration::ZERO {
            let _ = ctx.db.write(move |c| q::scheduled(c, job.as_str(), next));
        }
        // After a failure a nudge does not cut the retry's wait short: the receiver nudges
        // on every thin event and every round of linking that leaves an event waiting for its
        // customer, which would otherwise retry a failing Stripe at once, again and again.
        // The nudge waits for the retry, which does its work.
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
            _ = notify.notified(), if failures == 0 => {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(NUDGE_BATCH) => {}
                }
            }
        }
        let (c, o) = (ctx.clone(), opts.clone());
        let outcome = tokio::task::spawn_blocking(move || work::run(job, &c, &o))
            .await
            .unwrap_or_else(|_| Err(Error::Io(format!("the {} job panicked", job.as_str()))));
        let now = opts.clock.now_ms();
        let recorded: std::result::Result<String, String> = match outcome {
            Ok(summary) => {
                failures = 0;
                wait = period;
                Ok(summary)
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(job = job.as_str(), error = %e, failures, "a background job failed");
                wait = retry_after(job, failures).min(period);
                Err(e.to_string())
            }
        };
        let next_run_at = now + duration_ms(wait);
        if let Err(e) = ctx.db.write(move |c| {
            let finished = q::Finished {
                at: now,
                next_run_at,
                outcome: recorded.as_deref().map_err(String::as_str),
            };
            q::finished(c, job.as_str(), &finished)
        }) {
            tracing::warn!(job = job.as_str(), error = %e, "recording a job's run failed");
        }
    }
}

/// Nudges the catch-up and the retention purge when the wall clock has run ahead of the
/// monotonic one, which stops while the computer sleeps.
async fn watch_for_wake(clock: Arc<dyn Clock>, nudger: Nudger, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(WAKE_CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut mono, mut wall) = (Instant::now(), clock.now_ms());
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let (m, w) = (Instant::now(), clock.now_ms());
        if woke(m.duration_since(mono), w - wall) {
            tracing::info!("the computer woke up: catching up");
            nudger.nudge(Job::CatchUp);
            nudger.nudge(Job::Retention);
        }
        (mono, wall) = (m, w);
    }
}

/// Whether the wall clock moved `wall_ms` while the monotonic one moved `mono`: a wake.
fn woke(mono: Duration, wall_ms: i64) -> bool {
    wall_ms > duration_ms(mono) + duration_ms(WAKE_JUMP)
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Runs `job` once, now, on this thread (the `dsr` commands purge what expired first).
pub fn run_once(ctx: &Context, job: Job, opts: &Options) -> Result<String> {
    work::run(job, ctx, opts)
}

/// One job as `privacy-desk jobs` and the Dashboard show it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct JobStatus {
    pub name: Job,
    pub title: String,
    pub last_run_at: Option<String>,
    pub last_ok_at: Option<String>,
    /// `None` when no process runs the jobs now (or this one never ran).
    pub next_run_at: Option<String>,
    pub last_error: Option<String>,
    /// Failed runs in a row.
    pub failures: i64,
    /// What the last successful run did, or why it waits.
    pub summary: String,
}

/// Every job's state, and the events that wait for a Stripe API key.
#[derive(Debug, Clone, Serialize, TS)]
pub struct JobsReport {
    pub jobs: Vec<JobStatus>,
    pub waiting: Vec<WaitingForKey>,
}

pub fn report(ctx: &Context) -> Result<JobsReport> {
    let rows = ctx.db.read(q::list)?;
    let jobs = Job::ALL
        .iter()
        .map(|&job| {
            let row = rows.iter().find(|r| r.name == job.as_str());
            JobStatus {
                name: job,
                title: job.title().to_owned(),
                last_run_at: row.and_then(|r| r.last_run_at).map(to_rfc3339),
                last_ok_at: row.and_then(|r| r.last_ok_at).map(to_rfc3339),
                next_run_at: row.and_then(|r| r.next_run_at).map(to_rfc3339),
                last_error: row.and_then(|r| r.last_error.clone()),
                failures: row.map_or(0, |r| r.failures),
                summary: match row {
                    Some(r) if r.last_run_at.is_some() => r.summary.clone(),
                    _ => job.not_run_yet().to_owned(),
                },
            }
        })
        .collect();
    Ok(JobsReport {
        jobs,
        waiting: waiting_for_key(ctx)?,
    })
}

#[cfg(test)]
mod tests;
