//! Activity-log queries over 1M stored events: first page (50 rows) and total count, with
//! the filters the screen offers, p50/p95 over repeated runs. Target: p95 ≤ 50 ms.
//!
//! Run: `make bench` (or `cargo bench --bench activity`). `BENCH_EVENTS` changes the size.

use std::time::{Duration, Instant};

use privacy_desk_core::domain::activity::{self, ActivityQuery};
use privacy_desk_core::store::{events, processors, subjects, Db};

const TYPES: &[&str] = &[
    "customer.created",
    "customer.updated",
    "customer.subscription.created",
    "customer.subscription.updated",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.succeeded",
    "charge.failed",
    "charge.refunded",
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "checkout.session.completed",
    "payout.paid",
];

fn main() {
    let n: i64 = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let t = Instant::now();
    fill(&db, n);
    eprintln!("filled {n} events in {:.1} s", t.elapsed().as_secs_f64());
    // As at the app's next start (which refreshes the query planner's statistics).
    db.shutdown();
    let db = Db::open(dir.path()).unwrap();

    let q = |f: fn(&mut ActivityQuery)| {
        let mut q = ActivityQuery {
            limit: 50,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let cases: Vec<(&str, ActivityQuery)> = vec![
        ("no filter", q(|_| {})),
        (
            "type customer.*",
            q(|q| q.event_type = Some("customer.*".into())),
        ),
        (
            "type charge.refunded",
            q(|q| q.event_type = Some("charge.refunded".into())),
        ),
        (
            "type + subject",
            q(|q| {
                q.event_type = Some("invoice.*".into());
                q.subject = Some("person77@example.com".into());
            }),
        ),
        (
            "subject email",
            q(|q| q.subject = Some("person4242@example.com".into())),
        ),
        (
            "subject name search",
            q(|q| q.subject = Some("Person 424".into())),
        ),
        (
            "date range (1 month)",
            q(|q| {
                q.since = Some("2025-03-01".into());
                q.until = Some("2025-03-31".into());
            }),
        ),
        ("status unlinked", q(|q| q.status = Some("unlinked".into()))),
        (
            "type + date + source",
            q(|q| {
                q.event_type = Some("invoice.*".into());
                q.source = Some("stripe".into());
                q.since = Some("2025-06-01".into());
            }),
        ),
    ];
    println!("| filter (first page of 50 + total count) | total | p50 ms | p95 ms |");
    println!("|---|---:|---:|---:|");
    for (name, query) in cases {
        let mut times = Vec::new();
        let mut total = 0;
        for i in 0..40 {
            let t = Instant::now();
            let page = activity::page(&db, &query).unwrap();
            let took = t.elapsed();
            if i >= 5 {
                times.push(took);
            }
            total = page.total;
        }
        times.sort();
        let p = |q: f64| ms(times[((times.len() - 1) as f64 * q) as usize]);
        println!("| {name} | {total} | {:.1} | {:.1} |", p(0.5), p(0.95));
    }
    db.shutdown();
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `n` events over two years, 10k subjects, a realistic mix of types and statuses.
fn fill(db: &Db, n: i64) {
    db.write(|c| {
        processors::insert(c, &processors::NewProcessor::bare_stripe("e"))?;
        for s in 0..10_000 {
            subjects::create(
                c,
                &format!("person{s}@example.com"),
                Some(&format!("Person {s}")),
                0,
            )?;
        }
        Ok(())
    })
    .unwrap();
    let start = 1_735_689_600_000i64; // 2025-01-01
    let span = 2 * 365 * 86_400_000i64;
    let batch = 20_000;
    let mut i = 0;
    while i < n {
        let from = i;
        let to = (i + batch).min(n);
        db.write(move |c| {
            for k in from..to {
                let ty = TYPES[((k * 5 + k / 97) % TYPES.len() as i64) as usize];
                let subject = (ty != "payout.paid").then_some(k * 31 % 10_000 + 1);
                let status = match (subject, k % 50) {
                    (None, _) => events::status::NO_SUBJECT,
                    (Some(_), 0) => events::status::UNLINKED,
                    _ => events::status::LINKED,
                };
                let row = events::NewEvent {
                    processor_id: 1,
                    source: "stripe".into(),
                    event_id: format!("evt_{k:012}"),
                    event_type: ty.into(),
                    occurred_at: start + k * span / n,
                    received_at: start + k * span / n + 500,
                    livemode: Some(false),
                    status,
                    object_id: Some(format!("obj_{k}")),
                    customer_ref: subject.map(|s| format!("cus_{s}")),
                    observed: "email,name".into(),
                    data: "{\"object\":\"x\",\"fields\":{}}".into(),
                    replay_hash: None,
                };
                events::insert(c, &row)?;
                if let (Some(s), events::status::LINKED) = (subject, status) {
                    events::set_outcome(
                        c,
                        c.last_insert_rowid(),
                        status,
                        Some(s),
                        Some(&format!("person{}@example.com", s - 1)),
                    )?;
                }
            }
            Ok(())
        })
        .unwrap();
        i = to;
    }
}
