//! Database writer benchmark: `make bench` (or `cargo bench --bench writer`).
//!
//! The receiver's only serial stage is the `db-writer` thread (group commit with
//! `synchronous=FULL`). The ingestion benchmark measures it inside the whole receiver, on a
//! machine shared with the load generator, where the scheduler's noise hides changes of a
//! few microseconds. This one measures the writer alone: `StoreJob`s of the ingestion
//! benchmark's fixture (a minimised `charge.succeeded`, with its delivery record), queued in
//! batches of a fixed size while the writer is held (so each batch is exactly one
//! transaction), then released. Each event is linked by its own store job, in the batch's
//! transaction (nothing stored before it waits); a linking round still runs after each batch,
//! as the `Linker` would when told, and finds nothing to do. Reported per batch size: events/s and the writer thread's CPU
//! time per event (`/proc/self/task/TID/schedstat`: time on a CPU, not waiting for the disk).
//!
//! Environment: `WRITER_EVENTS` (4000 per batch size), `WRITER_BATCHES` (`1,8,32`),
//! `BENCH_FIXTURE` (a file of the committed corpus, `tests/fixtures/stripe/`).

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;

use privacy_desk_core::error::Result;
use privacy_desk_core::ingest::{self, link, StoreJob};
use privacy_desk_core::store::{events, processors, Db};
use privacy_desk_core::stripe::event;

fn main() {
    let n: usize = env_or("WRITER_EVENTS", 4000);
    let batches: Vec<usize> = std::env::var("WRITER_BATCHES")
        .unwrap_or_else(|_| "1,8,32".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let fixture = std::env::var("BENCH_FIXTURE").unwrap_or("04-charge.succeeded.json".into());
    let body = std::fs::read(
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join("tests/fixtures/stripe")
            .join(&fixture),
    )
    .expect("read the fixture");
    let template = String::from_utf8(body).expect("the fixture is UTF-8");
    let id = serde_json::from_str::<serde_json::Value>(&template).expect("JSON")["id"]
        .as_str()
        .expect("the fixture has an id")
        .to_owned();

    println!("| batch size | events | events/s | writer CPU µs/event | commits |");
    println!("|---:|---:|---:|---:|---:|");
    for &batch in &batches {
        let tmp = tempfile::tempdir().unwrap();
        let db = Db::open(tmp.path()).unwrap();
        let pid = db
            .write(|c| processors::insert(c, &processors::NewProcessor::bare_stripe("bench")))
            .unwrap();
        // Rows built before the clock starts: parsing and minimising are the handlers' work.
        let rows: Vec<_> = (0..n)
            .map(|i| {
                let body = template.replace(&id, &format!("evt_writer_{batch}_{i}"));
                let inc = event::parse(body.as_bytes(), 1_000).expect("the fixture parses");
                ingest::row(pid, "stripe", inc, 1_000 + i as i64, None)
            })
            .collect();
        let writer = writer_tid().expect("the db-writer thread");
        let (cpu0, t0) = (thread_cpu_ns(&writer), Instant::now());
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let held = db.hold().unwrap();
            let (tx, rx) = mpsc::channel();
            let mut queued = 0;
            for row in rows.by_ref().take(batch) {
                let tx = tx.clone();
                let job = StoreJob::new(row, move |r: Result<ingest::Outcome>| {
                    let _ = tx.send(r.is_ok());
                });
                db.submit(job.with_delivery_log()).unwrap();
                queued += 1;
            }
            drop(held);
            let stored = rx.iter().take(queued).filter(|ok| *ok).count();
            assert_eq!(stored, queued, "every event of the batch is stored");
            db.write(|c| link::process_pending(c, 500)).unwrap();
        }
        // Per batch: the events' transaction and the linking step's (holding the writer
        // writes nothing, so its empty transaction costs no fsync).
        let commits = 2 * n.div_ceil(batch);
        let secs = t0.elapsed().as_secs_f64();
        let cpu_us = (thread_cpu_ns(&writer) - cpu0) as f64 / 1e3 / n as f64;
        let left = db.read(|c| events::pending(c, 1)).unwrap();
        assert!(left.is_empty(), "every event was linked");
        println!(
            "| {batch} | {n} | {:.0} | {cpu_us:.1} | {commits} |",
            n as f64 / secs
        );
        db.shutdown();
    }
}

fn writer_tid() -> Option<String> {
    std::fs::read_dir("/proc/self/task").ok()?.find_map(|t| {
        let t = t.ok()?;
        let comm = std::fs::read_to_string(t.path().join("comm")).ok()?;
        (comm.trim() == "db-writer").then(|| t.file_name().to_string_lossy().into_owned())
    })
}

/// Time the thread spent on a CPU, in nanoseconds.
fn thread_cpu_ns(tid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("schedstat of the writer thread")
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}
