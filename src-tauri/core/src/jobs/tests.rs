use std::time::{Duration, Instant};

use super::*;
use crate::store::requests::{insert_retained, RetainedRow};

const DAY: Duration = Duration::from_secs(86_400);
const T0: i64 = 1_780_000_000_000;

#[test]
fn a_failed_run_is_retried_sooner_and_sooner_up_to_its_period() {
    let waits: Vec<u64> = (1..=12)
        .map(|f| retry_after(Job::StripePending, f).as_secs())
        .collect();
    assert_eq!(&waits[..5], &[2, 4, 8, 16, 32]);
    assert_eq!(
        *waits.last().unwrap(),
        300,
        "capped at the period: {waits:?}"
    );
    assert_eq!(retry_after(Job::WaitingErasures, 9).as_secs(), 60);
    assert_eq!(retry_after(Job::CatchUp, u32::MAX).as_secs(), 15 * 60);
}

#[test]
fn a_wall_clock_far_ahead_of_the_monotonic_one_is_a_wake() {
    let thirty = Duration::from_secs(30);
    assert!(!woke(thirty, 30_000));
    // NTP steps and a busy machine: small differences are not a wake.
    assert!(!woke(thirty, 85_000));
    assert!(woke(thirty, 8 * 3600 * 1000));
    // The clock set back is not a wake either.
    assert!(!woke(thirty, -3_600_000));
}

fn job(r: &JobsReport, job: Job) -> &JobStatus {
    r.jobs.iter().find(|j| j.name == job).unwrap()
}

/// Waits (polling the jobs table, as the Dashboard does) until `done` holds, at most 10 s.
fn eventually(ctx: &Context, what: &str, done: impl Fn(&JobsReport) -> bool) -> JobsReport {
    let start = Instant::now();
    loop {
        let r = report(ctx).unwrap();
        if done(&r) {
            return r;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{what}: {r:#?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn retained(ctx: &Context) -> i64 {
    ctx.db
        .read(|c| Ok(c.query_row("SELECT count(*) FROM retained_records", [], |r| r.get(0))?))
        .unwrap()
}

/// `serve` left running past a retained record's end date purges it: the clock is moved, not
/// waited for.
#[test]
fn the_running_jobs_purge_a_retained_record_once_its_retention_ends() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::open_in_memory_keychain(dir.path()).unwrap();
    let until = T0 + 10 * 86_400_000;
    ctx.db
        .write(move |c| {
            insert_retained(
                c,
                &RetainedRow {
                    request_id: None,
                    subject_hash: "sh_x".into(),
                    processor_id: None,
                    event_id: "evt_1".into(),
                    event_type: "charge.succeeded".into(),
                    object_id: Some("ch_1".into()),
                    customer_ref: None,
                    occurred_at: T0 - 86_400_000,
                    fields: "{}".into(),
                    legal_basis: "Art. 17(3)(b)".into(),
                    retain_until: until,
                },
            )
        })
        .unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let mut opts = Options::default().with_period(Job::Retention, Duration::from_millis(50));
    opts.clock = clock.clone();
    let jobs = Scheduler::start(&ctx, opts).unwrap();

    // It runs at start and keeps the record, which is still within its retention.
    let r = eventually(&ctx, "the purge ran", |r| {
        job(r, Job::Retention).last_ok_at.is_some()
    });
    assert_eq!(job(&r, Job::Retention).failures, 0);
    assert_eq!(retained(&ctx), 1);
    assert!(job(&r, Job::Retention).next_run_at.is_some());

    clock.advance(11 * DAY);
    let r = eventually(&ctx, "the record was purged", |_| retained(&ctx) == 0);
    assert!(job(&r, Job::Retention).last_error.is_none());

    jobs.shutdown();
    let r = report(&ctx).unwrap();
    assert!(
        r.jobs.iter().all(|j| j.next_run_at.is_none()),
        "nothing is scheduled once stopped: {r:#?}"
    );
    // Without a window the reminders job does not run: no reminder is marked shown unseen.
    assert!(job(&r, Job::Reminders).last_run_at.is_none());
}

#[test]
fn a_nudge_runs_the_stripe_job_at_once_rather_than_after_its_period() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::open_in_memory_keychain(dir.path()).unwrap();
    let jobs = Scheduler::start(&ctx, Options::default()).unwrap();
    let runs = |ctx: &Context| -> i64 {
        ctx.db
            .read(|c| {
                Ok(c.query_row(
                    "SELECT coalesce((SELECT runs FROM jobs WHERE name = 'stripe_pending'), 0)",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap()
    };
    eventually(&ctx, "the first run", |_| runs(&ctx) == 1);
    let nudged = Instant::now();
    jobs.nudger().nudge(Job::StripePending);
    eventually(&ctx, "the nudged run", |_| runs(&ctx) == 2);
    assert!(
        nudged.elapsed() < Duration::from_secs(5),
        "{:?}",
        nudged.elapsed()
    );
    let r = report(&ctx).unwrap();
    assert_eq!(
        job(&r, Job::StripePending).summary,
        "0 customers looked up, 0 thin events fetched"
    );
}

#[test]
fn a_failing_daily_backup_is_told_once_until_one_succeeds_again() {
    use crate::backup::schedule::{self, ScheduleInput};
    use crate::secrets::Secret;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let tmp = tempfile::tempdir().unwrap();
    let ctx = Context::open_in_memory_keychain(&tmp.path().join("data")).unwrap();
    let folder = tmp.path().join("backups");
    std::fs::create_dir(&folder).unwrap();
    schedule::set_passphrase(&ctx, &Secret::new("a long enough passphrase")).unwrap();
    schedule::save(
        &ctx,
        ScheduleInput {
            enabled: true,
            folder: Some(folder.display().to_string()),
            keep: 3,
            include_credentials: true,
        },
    )
    .unwrap();
    let told = Arc::new(AtomicUsize::new(0));
    let mut opts = Options::default();
    let t = told.clone();
    opts.on_backup_failed = Some(Arc::new(move |e: &str| {
        assert!(e.contains("backup folder"), "{e}");
        t.fetch_add(1, Ordering::SeqCst);
    }));

    assert!(run_once(&ctx, Job::Backup, &opts)
        .unwrap()
        .starts_with("backed up"));
    std::fs::remove_dir_all(&folder).unwrap();
    std::fs::write(&folder, "a file where the folder was").unwrap();
    let day = 86_400_000;
    let clock = |at: i64| Options {
        clock: Arc::new(ManualClock::new(at)),
        ..opts.clone()
    };
    let later = crate::time::now_ms() + day;
    for i in 0..3 {
        assert!(run_once(&ctx, Job::Backup, &clock(later + i)).is_err());
    }
    assert_eq!(
        told.load(Ordering::SeqCst),
        1,
        "told once, not at every retry"
    );
    // The folder is back: the next run succeeds, and a later failure is told again.
    std::fs::remove_file(&folder).unwrap();
    std::fs::create_dir(&folder).unwrap();
    assert!(run_once(&ctx, Job::Backup, &clock(later + 10)).is_ok());
    std::fs::remove_dir_all(&folder).unwrap();
    std::fs::write(&folder, "gone again").unwrap();
    assert!(run_once(&ctx, Job::Backup, &clock(later + 2 * day)).is_err());
    assert_eq!(told.load(Ordering::SeqCst), 2);
}
