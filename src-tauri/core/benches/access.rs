//! Access package for a data subject with 10k events (local data; no Stripe key): the .zip
//! with JSON + CSV per category, the HTML summary and the manifest. Target: ≤ 2 s.
//!
//! Needs the OS keychain (the keyed-hash key): `make bench` runs it inside
//! `.ci/with-session.sh`. `BENCH_EVENTS` changes the size.

use std::time::{Duration, Instant};

use privacy_desk_core::context::Context;
use privacy_desk_core::ingest::{self, link};
use privacy_desk_core::requests::{self, access, Kind, NewRequest, Regime};
use privacy_desk_core::store::{events, processors};
use privacy_desk_core::stripe::event;

fn main() {
    let n: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::open(&dir.path().join("data")).unwrap();
    fill(&ctx, n);

    let mut times = Vec::new();
    let mut size = 0;
    for run in 0..6 {
        let req = requests::create(
            &ctx,
            NewRequest {
                kind: Kind::Access,
                email: "bench.subject@example.com".into(),
                regime: Regime::Gdpr,
                received: None,
            },
        )
        .unwrap();
        requests::verify_identity(&ctx, req.id, "bench").unwrap();
        let out = dir.path().join(format!("out{run}"));
        std::fs::create_dir_all(&out).unwrap();
        let t = Instant::now();
        let pkg = access::build(&ctx, req.id, &out, &mut |_| {}).unwrap();
        let took = t.elapsed();
        size = std::fs::metadata(&pkg.path).unwrap().len();
        if run > 0 {
            times.push(took);
        }
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("| access package, {n} events | zip size | p50 ms | max ms |");
    println!("|---|---:|---:|---:|");
    println!(
        "| local data, no Stripe key | {} KiB | {:.0} | {:.0} |",
        size / 1024,
        ms(times[times.len() / 2]),
        ms(*times.last().unwrap())
    );
    ctx.db.shutdown();
}

/// One customer and `n` of their charges, through the real parse → minimise → store → link.
fn fill(ctx: &Context, n: usize) {
    ctx.db
        .write(|c| processors::insert(c, &processors::NewProcessor::bare_stripe("e")))
        .unwrap();
    let customer = r#"{"id":"evt_c","object":"event","type":"customer.created","created":1735689600,
        "data":{"object":{"id":"cus_bench","object":"customer","email":"bench.subject@example.com",
        "name":"Bench Subject","address":{"city":"Lyon","country":"FR"}}}}"#;
    let mut rows = vec![ingest::row(
        1,
        "stripe",
        event::parse(customer.as_bytes(), 0).unwrap(),
        0,
        None,
    )];
    for i in 0..n {
        let body = format!(
            r#"{{"id":"evt_{i}","object":"event","type":"charge.succeeded","created":{},
            "data":{{"object":{{"id":"ch_{i}","object":"charge","amount":{},"currency":"eur",
            "status":"succeeded","customer":"cus_bench","payment_intent":"pi_{i}",
            "billing_details":{{"email":"bench.subject@example.com","name":"Bench Subject"}}}}}}}}"#,
            1_735_689_600 + i * 60,
            1000 + i
        );
        rows.push(ingest::row(
            1,
            "stripe",
            event::parse(body.as_bytes(), 0).unwrap(),
            0,
            None,
        ));
    }
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(2000).collect();
        ctx.db
            .write(move |c| {
                for r in &chunk {
                    events::insert(c, r)?;
                }
                Ok(())
            })
            .unwrap();
    }
    while ctx.db.write(|c| link::process_pending(c, 1000)).unwrap() > 0 {}
}
