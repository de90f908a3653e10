//! The app at scale: `cargo bench --bench scale` (`make bench` runs it inside
//! `.ci/with-session.sh`: the receiver and the requests need the OS keychain).
//!
//! Fills a real SQLite file with `PD_SCALE_EVENTS` (1,000,000) events of a shop (`gen.rs`)
//! through the writer's path — each event parsed and minimised as a webhook body is, then a
//! `StoreJob` in the writer's group commit, then linked to its data subject by the same
//! `link::process_pending` the linker runs — and reports the fill's events/s. Then, on the
//! database reopened as at the app's next start, p50/p95 over repeated runs of: every Activity
//! Log filter mix (first page of 50 and the total), the subject page, the subjects list's
//! pages, the dashboard, the access package (local data only, no Stripe key) and the erasure
//! plan for a subject with 10 and with 10,000 events, the database's bytes per event (and per
//! table and index), a backup of it all and its restore into a new data directory, a real
//! receiver at `PD_SCALE_RATE` with the background jobs beside it (their CPU per thread and the
//! acknowledgement latency: a job that reads every event shows here), and last
//! a retention purge of the oldest 10 % of the log while a real receiver on loopback takes
//! signed webhooks at `PD_SCALE_RATE` (333) events/s: its acknowledgement latency
//! p50/p99/max before and during the purge.
//!
//! Environment: `PD_SCALE_EVENTS` (1000000), `PD_SCALE_RUNS` (30 per query), `PD_SCALE_RATE`
//! (333), `PD_SCALE_BASELINE_SECS` (10), `PD_SCALE_DIR` (a directory to keep the database in;
//! default a temporary one, removed at the end), `PD_SCALE_SKIP` (comma-separated phases to
//! skip: `backup`, `queries`, `dsr`, `jobs`, `purge`), `PD_SCALE_FILLED` (a directory: when it holds
//! a filled database the run starts from a copy of it and does not fill; when not, the filled
//! data directory is copied there; its secrets stay in the keychain, so this is for runs inside
//! one `.ci/with-session.sh`), `PD_SCALE_PURGE_ROWS` and `PD_SCALE_PURGE_RATE` (the
//! purge's pace: events per transaction, most events/s; the app's default when unset),
//! `PD_SCALE_PURGE_SYNCED` (1: each purge commit waits for the disk, as before),
//! `PD_SCALE_PURGE_PERCENT` (10: how much of the log the purge deletes). The
//! report is printed as markdown (docs/benchmarks.md).

mod gen;
mod load;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use privacy_desk_core::backup;
use privacy_desk_core::context::Context;
use privacy_desk_core::domain::activity::{self, ActivityQuery};
use privacy_desk_core::domain::{dashboard, processors, subjects};
use privacy_desk_core::error::Result;
use privacy_desk_core::ingest::{self, link, StoreJob};
use privacy_desk_core::requests::{self, access, erasure, Kind, NewRequest, Regime};
use privacy_desk_core::secrets::Secret;
use privacy_desk_core::store::{events, DB_FILE};
use privacy_desk_core::stripe::event;
use sha2::{Digest, Sha256};

use gen::{Body, Gen};

const SECRET: &str = "whsec_scale_bench_signing_secret";
const DAY_S: i64 = 86_400;
/// Two years of events, ending yesterday.
const SPAN_S: i64 = 730 * DAY_S;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// (p50, p95, max) in ms.
fn percentiles(t: Vec<Duration>) -> (f64, f64, f64) {
    quantiles(t, 0.95)
}

/// (p50, p`q`, max) in ms; zeros for no timings.
fn quantiles(mut t: Vec<Duration>, q: f64) -> (f64, f64, f64) {
    if t.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    t.sort();
    let at = |q: f64| ms(t[((t.len() - 1) as f64 * q).round() as usize]);
    (at(0.5), at(q), ms(t[t.len() - 1]))
}

/// Runs `f` `runs + 3` times and keeps the last `runs` timings (the first ones warm caches).
fn timed<T>(runs: usize, mut f: impl FnMut() -> T) -> (Vec<Duration>, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for i in 0..runs + 3 {
        let t = Instant::now();
        let out = f();
        if i >= 3 {
            times.push(t.elapsed());
        }
        last = Some(out);
    }
    (times, last.expect("ran"))
}

fn main() {
    let n: u64 = env_or("PD_SCALE_EVENTS", 1_000_000);
    let runs: usize = env_or("PD_SCALE_RUNS", 30);
    let skip = std::env::var("PD_SCALE_SKIP").unwrap_or_default();
    let skip = |phase: &str| skip.split(',').any(|s| s.trim() == phase);
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dir = std::env::var("PD_SCALE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| tmp.path().join("data"));
    let _ = std::fs::remove_dir_all(&dir);

    let end_s = privacy_desk_core::time::now_ms() / 1000 - DAY_S;
    let start_s = end_s - SPAN_S;
    println!("## The app at scale: {n} events\n");
    let mut gen = Gen::new(n, start_s, SPAN_S, 0x5CA1E, "evt_");
    let filled = std::env::var_os("PD_SCALE_FILLED").map(std::path::PathBuf::from);
    let reuse = filled.as_ref().filter(|f| f.join(DB_FILE).is_file());
    if let Some(from) = reuse {
        copy_dir(from, &dir);
        gen.skip(n);
        println!("(The filled database copied from `PD_SCALE_FILLED`: no fill.)\n");
    } else {
        let ctx = Context::open(&dir).expect("open the data directory");
        let p = processors::add_stripe(&ctx, Some("Shop"), Some(Secret::new(SECRET)))
            .expect("add the Stripe processor");
        let fill = fill(&ctx, p.id, n, &mut gen);
        let stored: i64 = count_events(&ctx);
        println!(
            "Fill ({} customers): {stored} events stored in {:.1} s ({:.0} events/s through \
             parse → minimise → StoreJob group commit), linked in {:.1} s ({:.0} events/s); \
             {:.0} events/s in all.\n",
            gen.customers(),
            fill.store.as_secs_f64(),
            stored as f64 / fill.store.as_secs_f64(),
            fill.link.as_secs_f64(),
            stored as f64 / fill.link.as_secs_f64(),
            stored as f64 / (fill.store + fill.link).as_secs_f64(),
        );
        ctx.db.shutdown();
        drop(ctx);
        if let Some(to) = &filled {
            copy_dir(&dir, to);
        }
    }

    // As at the app's next start (which refreshes the planner's statistics).
    let ctx = Context::open(&dir).expect("reopen");
    let p = processors::list(&ctx)
        .expect("the processors")
        .into_iter()
        .next()
        .expect("the Stripe processor");
    let stored = count_events(&ctx);
    sizes(&ctx, stored);

    if !skip("backup") {
        backup_and_restore(&ctx, &dir);
    }
    if !skip("queries") {
        queries(&ctx, runs, start_s);
    }
    if !skip("dsr") {
        dsr(&ctx, &dir);
    }
    if !skip("jobs") {
        jobs_under_load(&ctx, &p, &mut gen);
    }
    if !skip("purge") {
        purge_under_load(&ctx, &p, &mut gen, start_s);
    }
    ctx.db.shutdown();
}

/// A backup of the whole install (with the credentials) and its restore into a new data
/// directory: times, throughput, the file's size against the database's.
fn backup_and_restore(ctx: &Context, dir: &std::path::Path) {
    let parent = dir.parent().expect("the data directory has a parent");
    let out = parent.join("scale.pdbackup");
    let target = parent.join("restored");
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_dir_all(&target);
    let pass = Secret::new("a passphrase for the scale bench");
    let t = Instant::now();
    let r = backup::create(ctx, &out, &pass, true).expect("back up");
    let took = t.elapsed();
    let db = r.manifest.database.bytes as f64 / (1 << 20) as f64;
    let t = Instant::now();
    let (restored, report) = backup::restore(&target, &out, &pass).expect("restore");
    let back = t.elapsed();
    assert!(report.audit_intact);
    assert_eq!(report.manifest.counts.events, count_events(&restored));
    restored.db.shutdown();
    println!(
        "Backup: {db:.0} MiB database → {:.0} MiB file in {:.1} s ({:.0} MiB/s: online copy, \
         SHA-256, tar, age); restore into a new data directory in {:.1} s ({:.0} MiB/s: \
         decrypt, SHA-256, integrity check, counts).\n",
        r.bytes as f64 / (1 << 20) as f64,
        took.as_secs_f64(),
        db / took.as_secs_f64(),
        back.as_secs_f64(),
        db / back.as_secs_f64(),
    );
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_dir_all(&target);
}

/// Copies a closed data directory's files (the database, with no WAL left after a clean
/// shutdown) into `to`, replacing what was there.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).expect("the copy's directory");
    for entry in std::fs::read_dir(from).expect("the filled directory") {
        let entry = entry.expect("an entry");
        if entry.file_type().expect("its type").is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }
}

struct FillTimes {
    store: Duration,
    link: Duration,
}

fn replay_hash(pid: i64, event_id: &str) -> [u8; 16] {
    let h = Sha256::digest(format!("{pid}:{event_id}").as_bytes());
    h[..16].try_into().expect("16 bytes")
}

/// Parses and minimises on a thread of its own (the receiver's handlers' work), stores
/// through the writer's group commit, links every 8 batches.
fn fill(ctx: &Context, pid: i64, n: u64, gen: &mut Gen) -> FillTimes {
    let (tx, rx) = mpsc::sync_channel::<Vec<events::NewEvent>>(16);
    let mut g = std::mem::replace(gen, Gen::new(1, 0, 1, 1, "x"));
    let producer = std::thread::spawn(move || {
        let mut made = 0u64;
        let mut bodies: Vec<Body> = Vec::with_capacity(8);
        let mut chunk = Vec::with_capacity(512);
        while made < n {
            bodies.clear();
            g.episode(&mut bodies);
            for b in bodies.drain(..) {
                let received = b.occurred_at + 800;
                let inc = event::parse(b.json.as_bytes(), received).expect("the body parses");
                let mut row = ingest::row(pid, "stripe", inc, received, None);
                row.replay_hash = Some(replay_hash(pid, &row.event_id));
                chunk.push(row);
                made += 1;
            }
            if chunk.len() >= 512 {
                if tx.send(std::mem::take(&mut chunk)).is_err() {
                    return g;
                }
                chunk.reserve(512);
            }
        }
        let _ = tx.send(chunk);
        g
    });
    let failed = Arc::new(AtomicU64::new(0));
    let (mut store, mut link) = (Duration::ZERO, Duration::ZERO);
    let mut batches = 0u64;
    let mut done = 0u64;
    let t0 = Instant::now();
    let mut last_report = Instant::now();
    let link_all = |store: &mut Duration, link: &mut Duration| {
        let t = Instant::now();
        ctx.db.write(|_| Ok(())).expect("barrier");
        *store += t.elapsed();
        let t = Instant::now();
        while ctx
            .db
            .write(|c| link::process_pending(c, 4096))
            .expect("link")
            > 0
        {}
        *link += t.elapsed();
    };
    for chunk in rx {
        let t = Instant::now();
        done += chunk.len() as u64;
        for row in chunk {
            let failed = failed.clone();
            let job = StoreJob::new(row, move |r: Result<ingest::Outcome>| {
                if !matches!(r, Ok(ingest::Outcome::Accepted)) {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            });
            ctx.db.submit(job).expect("submit");
        }
        store += t.elapsed();
        batches += 1;
        if batches.is_multiple_of(8) {
            link_all(&mut store, &mut link);
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            last_report = Instant::now();
            eprintln!(
                "  … {done} events in {:.0} s ({:.0}/s)",
                t0.elapsed().as_secs_f64(),
                done as f64 / t0.elapsed().as_secs_f64()
            );
        }
    }
    link_all(&mut store, &mut link);
    *gen = producer.join().expect("the generator thread");
    assert_eq!(failed.load(Ordering::Relaxed), 0, "every event is stored");
    FillTimes { store, link }
}

fn count_events(ctx: &Context) -> i64 {
    ctx.db
        .read(|c| Ok(c.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?))
        .expect("count")
}

/// The file's size per event, and what takes the space (SQLite's `dbstat`).
fn sizes(ctx: &Context, stored: i64) {
    requests_checkpoint(ctx);
    let file = std::fs::metadata(ctx.data_dir.join(DB_FILE))
        .expect("the database file")
        .len();
    println!(
        "Database: {:.1} MiB, **{:.0} bytes per event** ({stored} events).\n",
        file as f64 / 1048576.0,
        file as f64 / stored as f64
    );
    let rows: Vec<(String, i64)> = ctx
        .db
        .read(|c| {
            let mut st = c.prepare(
                "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY sum(pgsize) DESC",
            )?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .expect("dbstat");
    println!("| table or index | MiB | bytes per event |");
    println!("|---|---:|---:|");
    for (name, bytes) in rows.iter().filter(|r| r.1 > 1 << 20) {
        println!(
            "| {name} | {:.1} | {:.0} |",
            *bytes as f64 / 1048576.0,
            *bytes as f64 / stored as f64
        );
    }
    println!();
}

fn requests_checkpoint(ctx: &Context) {
    let done = privacy_desk_core::store::requests::checkpoint(
        &ctx.data_dir.join(DB_FILE),
        Duration::from_secs(10),
    )
    .expect("checkpoint");
    assert!(done, "the WAL was checkpointed");
}

fn rfc3339(s: i64) -> String {
    chrono::DateTime::from_timestamp(s, 0)
        .expect("a time")
        .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).expect("offset"))
        .to_rfc3339()
}

fn queries(ctx: &Context, runs: usize, start_s: i64) {
    let db = &ctx.db;
    // A month three quarters of the way in, as the window asks for it: local days (UTC+2).
    let month_from = start_s + SPAN_S * 3 / 4;
    let (since, until) = (rfc3339(month_from), rfc3339(month_from + 30 * DAY_S));
    let typical = subjects::search(db, "example.com")
        .expect("subjects")
        .into_iter()
        .find(|s| s.activity_count > 50)
        .expect("a typical subject");
    let heavy = gen::heavy(u64::MAX)[0].0.clone();
    let q = |f: &dyn Fn(&mut ActivityQuery)| {
        let mut q = ActivityQuery {
            limit: 50,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let (s2, u2) = (since.clone(), until.clone());
    let range = move |q: &mut ActivityQuery| {
        q.since = Some(s2.clone());
        q.until = Some(u2.clone());
    };
    let te = typical.email.clone();
    let mut cases: Vec<(String, ActivityQuery)> = vec![
        ("no filter".into(), q(&|_| {})),
        (
            "type exact `charge.refunded`".into(),
            q(&|q| q.event_type = Some("charge.refunded".into())),
        ),
        (
            "type exact `charge.succeeded`".into(),
            q(&|q| q.event_type = Some("charge.succeeded".into())),
        ),
        (
            "type wildcard `customer.*`".into(),
            q(&|q| q.event_type = Some("customer.*".into())),
        ),
        (
            "type wildcard `invoice.*`".into(),
            q(&|q| q.event_type = Some("invoice.*".into())),
        ),
        ("date range (30 days, UTC+2 days)".into(), q(&range)),
        (
            "source `stripe`".into(),
            q(&|q| q.source = Some("stripe".into())),
        ),
        (
            "subject (typical customer)".into(),
            q(&|q| q.subject = Some(te.clone())),
        ),
        (
            "subject (10,000 events)".into(),
            q(&|q| q.subject = Some(heavy.clone())),
        ),
        (
            "subject name search `Alice Martin`".into(),
            q(&|q| q.subject = Some("Alice Martin".into())),
        ),
        (
            "status `unlinked`".into(),
            q(&|q| q.status = Some("unlinked".into())),
        ),
        (
            "status `no_subject`".into(),
            q(&|q| q.status = Some("no_subject".into())),
        ),
        (
            "wildcard `invoice.*` + date range + source".into(),
            q(&|q| {
                range(q);
                q.event_type = Some("invoice.*".into());
                q.source = Some("stripe".into());
            }),
        ),
        (
            "wildcard `charge.*` + subject".into(),
            q(&|q| {
                q.event_type = Some("charge.*".into());
                q.subject = Some(te.clone());
            }),
        ),
        (
            "status `no_subject` + type `payout.*`".into(),
            q(&|q| {
                q.status = Some("no_subject".into());
                q.event_type = Some("payout.*".into());
            }),
        ),
        (
            "status `linked` + date range".into(),
            q(&|q| {
                range(q);
                q.status = Some("linked".into());
            }),
        ),
        (
            "type exact + date range + status".into(),
            q(&|q| {
                range(q);
                q.event_type = Some("charge.succeeded".into());
                q.status = Some("linked".into());
            }),
        ),
    ];
    // The second page of the wildcard (keyset cursor).
    let first = activity::page(db, &cases[3].1).expect("page");
    let mut next = cases[3].1.clone();
    next.cursor = first.next_cursor.clone();
    cases.push(("type wildcard `customer.*`, page 2".into(), next));

    println!("### Activity Log: first page of 50 and the total ({runs} runs)\n");
    println!("| filter | total | p50 ms | p95 ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    for (name, query) in &cases {
        let (times, page) = timed(runs, || activity::page(db, query).expect("page"));
        let (p50, p95, max) = percentiles(times);
        println!(
            "| {name} | {} | {p50:.1} | {p95:.1} | {max:.1} |",
            total_text(&page)
        );
    }
    println!();

    println!("### Subjects, dashboard ({runs} runs)\n");
    println!("| screen | p50 ms | p95 ms | max ms |");
    println!("|---|---:|---:|---:|");
    let heavy_id = subjects::show(db, &gen::heavy(u64::MAX)[0].0)
        .expect("the heavy subject")
        .subject
        .id;
    let light_id = subjects::show(db, gen::LIGHT_EMAIL)
        .expect("the light subject")
        .subject
        .id;
    let row = |name: &str, times: Vec<Duration>| {
        let (p50, p95, max) = percentiles(times);
        println!("| {name} | {p50:.1} | {p95:.1} | {max:.1} |");
    };
    let (t, _) = timed(runs, || subjects::page(db, light_id).expect("subject page"));
    row("subject page, 10 events", t);
    let (t, _) = timed(runs, || {
        subjects::page(db, typical.id).expect("subject page")
    });
    row(
        &format!("subject page, {} events", typical.activity_count),
        t,
    );
    let (t, p) = timed(runs, || subjects::page(db, heavy_id).expect("subject page"));
    row(
        &format!(
            "subject page, {} events (timeline: {} newest)",
            p.detail.subject.activity_count,
            p.timeline.len()
        ),
        t,
    );
    let (t, first) = timed(runs, || subjects::list_page(db, None, 50).expect("list"));
    row("subjects list, first page of 50", t);
    let middle = subjects::list_page(db, Some("m"), 50).expect("list");
    assert!(!middle.rows.is_empty() && first.next_cursor.is_some());
    let (t, _) = timed(runs, || {
        subjects::list_page(db, Some("m"), 50).expect("list")
    });
    row("subjects list, a page in the middle (after `m`)", t);
    let (t, _) = timed(runs, || dashboard::summary(ctx).expect("dashboard"));
    row("dashboard", t);
    println!();
}

fn total_text(p: &activity::ActivityPage) -> String {
    p.total.to_string()
}

fn dsr(ctx: &Context, dir: &std::path::Path) {
    let light = subjects::show(&ctx.db, gen::LIGHT_EMAIL).expect("light subject");
    let heavy_email = gen::heavy(u64::MAX)[0].0.clone();
    let heavy = subjects::show(&ctx.db, &heavy_email).expect("heavy subject");
    println!("### Data subject requests (local data, no Stripe key; 5 runs)\n");
    println!("| request | subject's events | p50 ms | max ms |");
    println!("|---|---:|---:|---:|");
    for (email, count) in [
        (gen::LIGHT_EMAIL.to_owned(), light.subject.activity_count),
        (heavy_email, heavy.subject.activity_count),
    ] {
        let out = dir.join("../packages");
        std::fs::create_dir_all(&out).expect("out dir");
        let mut times = Vec::new();
        for _ in 0..6 {
            let r = new_request(ctx, Kind::Access, &email);
            requests::verify_identity(ctx, r, "bench").expect("verify");
            let t = Instant::now();
            access::build(ctx, r, &out, &mut |_| {}).expect("access package");
            times.push(t.elapsed());
        }
        times.remove(0);
        let (p50, _, max) = percentiles(times);
        println!("| access package | {count} | {p50:.0} | {max:.0} |");
        let mut times = Vec::new();
        for _ in 0..6 {
            let r = new_request(ctx, Kind::Erasure, &email);
            let t = Instant::now();
            let plan = erasure::plan(ctx, r).expect("plan");
            times.push(t.elapsed());
            assert!(plan.data_held);
        }
        times.remove(0);
        let (p50, _, max) = percentiles(times);
        println!("| erasure plan | {count} | {p50:.0} | {max:.0} |");
    }
    println!();
}

fn new_request(ctx: &Context, kind: Kind, email: &str) -> i64 {
    requests::create(
        ctx,
        NewRequest {
            kind,
            email: email.into(),
            regime: Regime::Gdpr,
            received: None,
        },
    )
    .expect("request")
    .id
}

/// The receiver at `PD_SCALE_RATE` with the background jobs beside it, as in the app: what the
/// jobs cost on a log this size (a job that reads every event shows here, and not in the
/// fill or the purge, which run without them), and the acknowledgement latency meanwhile.
fn jobs_under_load(ctx: &Context, p: &processors::Processor, gen: &mut Gen) {
    let rate: f64 = env_or("PD_SCALE_RATE", 333.0);
    let secs: u64 = env_or("PD_SCALE_BASELINE_SECS", 10).max(10);
    let path = p.webhook_path.clone().expect("a webhook path");
    let cpu_before = thread_cpu();
    let run = load::Load::start(ctx, &path, SECRET, rate, gen, true);
    std::thread::sleep(Duration::from_secs(2 + secs));
    let to = run.offset();
    let cpu_after = thread_cpu();
    let report = run.stop();
    let (count, bad, p50, p99, max) = report.stats(Duration::from_secs(2), to);
    println!(
        "### The receiver with the background jobs ({rate:.0} signed webhooks/s over loopback, \
         {secs} s after 2 s of warm-up)\n"
    );
    println!("| webhooks | not 200 | ack p50 ms | p99 ms | max ms |");
    println!("|---:|---:|---:|---:|---:|");
    println!("| {count} | {bad} | {p50:.2} | {p99:.2} | {max:.2} |");
    println!(
        "\nCPU of the threads over the whole run ({:.1} s), ms:\n",
        to.as_secs_f64()
    );
    println!("| thread | CPU ms | µs per webhook stored |");
    println!("|---|---:|---:|");
    let stored = report.ok_between(Duration::ZERO, to).max(1) as f64;
    let bench = std::fs::read_to_string("/proc/self/comm").unwrap_or_default();
    // Per thread since the first reading (threads started since count from 0), then by name.
    let mut by_name = std::collections::BTreeMap::<String, f64>::new();
    for (tid, (name, after)) in &cpu_after {
        let before = cpu_before.get(tid).map_or(0.0, |(_, ms)| *ms);
        let name = if name == bench.trim() {
            "the bench's own (its bodies made, then its client)".to_owned()
        } else {
            name.clone()
        };
        *by_name.entry(name).or_insert(0.0) += after - before;
    }
    for (name, used) in &by_name {
        println!("| {name} | {used:.0} | {:.1} |", used * 1000.0 / stored);
    }
    println!(
        "\n(At this rate each webhook is a commit of its own: the writer's cost per event is \
         not the group commit's of the ingest bench.)\n"
    );
}

/// Time on a CPU (ms) and name of each thread of this process, by thread id
/// (`/proc/self/task/TID/schedstat`, in ns, as the writer bench reads it).
fn thread_cpu() -> std::collections::BTreeMap<String, (String, f64)> {
    let mut threads = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return threads;
    };
    for task in tasks.flatten() {
        let read = |file: &str| std::fs::read_to_string(task.path().join(file)).ok();
        let (Some(name), Some(stat)) = (read("comm"), read("schedstat")) else {
            continue;
        };
        let ns: f64 = stat
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        let tid = task.file_name().to_string_lossy().into_owned();
        threads.insert(tid, (name.trim().to_owned(), ns / 1e6));
    }
    threads
}

/// The retention purge of the oldest 10 % (`PD_SCALE_PURGE_PERCENT`) of the log while the
/// receiver takes webhooks.
fn purge_under_load(ctx: &Context, p: &processors::Processor, gen: &mut Gen, start_s: i64) {
    let rate: f64 = env_or("PD_SCALE_RATE", 333.0);
    let baseline: u64 = env_or("PD_SCALE_BASELINE_SECS", 10);
    let before = count_events(ctx);
    // Events are received 0.8 s after they occur, evenly over the span: the oldest 10 %.
    let share: f64 = env_or("PD_SCALE_PURGE_PERCENT", 10.0);
    let now = privacy_desk_core::time::now_ms();
    let cutoff = (start_s + (SPAN_S as f64 * share / 100.0) as i64) * 1000;
    let days = ((now - cutoff) / 86_400_000) as u32;
    let path = p.webhook_path.clone().expect("a webhook path");
    let run = load::Load::start(ctx, &path, SECRET, rate, gen, false);
    std::thread::sleep(Duration::from_secs(2 + baseline));
    let purge_from = run.offset();
    let wal = WalWatch::start(&ctx.db.path().with_extension("db-shm"));
    let default = activity::PurgePace::default();
    let pace = activity::PurgePace {
        rows: env_or("PD_SCALE_PURGE_ROWS", default.rows),
        max_per_s: env_or("PD_SCALE_PURGE_RATE", default.max_per_s),
        synced: env_or("PD_SCALE_PURGE_SYNCED", u8::from(default.synced)) == 1,
    };
    let t = Instant::now();
    let (mut ran, mut waited) = (Vec::new(), Vec::new());
    let deleted = activity::purge_at_pace(&ctx.db, days, now, pace, &mut |r, w| {
        ran.push(r);
        waited.push(w);
    })
    .expect("purge");
    let took = t.elapsed();
    let purge_to = run.offset();
    let wal = wal.stop();
    std::thread::sleep(Duration::from_secs(1));
    let report = run.stop();
    let after = count_events(ctx);
    println!(
        "### Retention purge under load ({rate:.0} signed webhooks/s over loopback; {} events \
         per transaction, at most {} events/s, {})\n",
        pace.rows,
        match pace.max_per_s {
            0 => "any".to_string(),
            n => n.to_string(),
        },
        if pace.synced {
            "each commit synced"
        } else {
            "commits unsynced when alone"
        }
    );
    println!(
        "Purged {deleted} of {before} events ({:.1} %) in {:.1} s ({:.0} events/s); {} \
         webhooks stored meanwhile ({after} events after).\n",
        100.0 * deleted as f64 / before as f64,
        took.as_secs_f64(),
        deleted as f64 / took.as_secs_f64(),
        report.ok_between(purge_from, purge_to)
    );
    println!("| phase | webhooks | not 200 | ack p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, from, to) in [
        ("before the purge", Duration::from_secs(2), purge_from),
        ("during the purge", purge_from, purge_to),
    ] {
        let (count, bad, p50, p99, max) = report.stats(from, to);
        println!("| {name} | {count} | {bad} | {p50:.2} | {p99:.2} | {max:.2} |");
    }
    let (r50, r99, rmax) = quantiles(ran, 0.99);
    let (w50, w99, wmax) = quantiles(waited, 0.99);
    println!(
        "\nThe purge's transactions: statements p50 {r50:.2} / p99 {r99:.2} / max {rmax:.2} ms \
         on the writer; queue, statements and commit p50 {w50:.2} / p99 {w99:.2} / max \
         {wmax:.2} ms."
    );
    println!(
        "\nThe WAL during the purge (sampled every 20 ms from the wal-index): at most {} \
         frames ({:.0} MiB), at most {} frames not yet copied into the database; it started \
         again from its beginning {} times.\n",
        wal.max_frames,
        wal.max_frames as f64 * 4096.0 / (1 << 20) as f64,
        wal.max_behind,
        wal.restarts
    );
}

/// Samples the WAL's length and the checkpointer's progress from the wal-index (`-shm`):
/// `mxFrame` at byte 16 of its header, `nBackfill` at byte 96 (sqlite's wal.c).
struct WalWatch {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<WalSeen>,
}

#[derive(Default)]
struct WalSeen {
    max_frames: u32,
    max_behind: u32,
    restarts: u32,
}

impl WalWatch {
    fn start(shm: &std::path::Path) -> WalWatch {
        use std::io::{Read, Seek};
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let mut file = std::fs::File::open(shm).expect("the wal-index");
        let thread = std::thread::spawn(move || {
            let mut seen = WalSeen::default();
            let mut last = 0;
            let mut head = [0u8; 100];
            while !flag.load(Ordering::Relaxed) {
                if file.rewind().is_ok() && file.read_exact(&mut head).is_ok() {
                    let at = |i: usize| u32::from_ne_bytes(head[i..i + 4].try_into().unwrap());
                    let (frames, backfilled) = (at(16), at(96));
                    if frames < last {
                        seen.restarts += 1;
                    }
                    last = frames;
                    seen.max_frames = seen.max_frames.max(frames);
                    seen.max_behind = seen.max_behind.max(frames.saturating_sub(backfilled));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            seen
        });
        WalWatch { stop, thread }
    }

    fn stop(self) -> WalSeen {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the WAL watcher")
    }
}
