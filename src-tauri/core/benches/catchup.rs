//! Catch-up benchmark: `make bench` (or `cargo bench --bench catchup`).
//!
//! A fake Stripe API on loopback (`tests/integration/fake_stripe.rs`) holds `CATCHUP_EVENTS`
//! (10,000) `customer.created` events from the last hour; `stripe_sync::catch_up_with` lists
//! them 100 per page through the real client (pinned version, pacing at test mode's 25 ops/s,
//! retries) and stores them through the ingestion path (minimisation, dedupe, group commit with
//! synchronous=FULL) into a fresh database. Then the events are linked to data subjects, and a
//! second catch-up measures the all-duplicates case. Target: 10k events in ≤ 10 s.
//!
//! Environment: `CATCHUP_EVENTS` (10000).

#[path = "../../../tests/integration/fake_stripe.rs"]
mod fake_stripe;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use privacy_desk_core::secrets::Secret;
use privacy_desk_core::store::{processors, Db};
use privacy_desk_core::stripe::client::Client;
use privacy_desk_core::stripe_sync;

fn main() {
    let n: usize = std::env::var("CATCHUP_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let fake = fake_stripe::FakeStripe::start();
    fake.with(|s| {
        s.events = (0..n)
            .map(|i| fake_stripe::customer_event(i, now - 3000 + (i as i64 * 3000 / n as i64)))
            .collect()
    });
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(tmp.path()).unwrap();
    let pid = db
        .write(|c| processors::insert(c, &processors::NewProcessor::bare_stripe("bench")))
        .unwrap();
    let client = Client::with_base(Secret::new(fake_stripe::KEY), &fake.base).unwrap();
    let types: Vec<String> = stripe_sync::DEFAULT_EVENTS
        .iter()
        .map(|s| s.to_string())
        .collect();

    let t = Instant::now();
    let c = stripe_sync::catch_up_with(&db, &client, None, pid, &types).unwrap();
    let fetch = t.elapsed();
    assert_eq!((c.fetched, c.new, c.duplicates), (n as u64, n as u64, 0));
    let t = Instant::now();
    stripe_sync::link_pending(&db).unwrap();
    let link = t.elapsed();
    let t = Instant::now();
    let again = stripe_sync::catch_up_with(&db, &client, None, pid, &types).unwrap();
    let dup = t.elapsed();
    assert_eq!(again.duplicates, n as u64);
    let pages = fake.with(|s| s.requests.len());
    db.shutdown();

    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!("catch-up benchmark: {n} events, {pages} API requests over loopback (fake Stripe)");
    println!(
        "  fetch + store (new):        {:>7.2} s  {:>8.0} events/s",
        fetch.as_secs_f64(),
        rate(fetch)
    );
    println!(
        "  link to data subjects:      {:>7.2} s  {:>8.0} events/s",
        link.as_secs_f64(),
        rate(link)
    );
    println!(
        "  fetch again (duplicates):   {:>7.2} s  {:>8.0} events/s",
        dup.as_secs_f64(),
        rate(dup)
    );
    let total = fetch + link;
    println!(
        "  total new + linked:         {:>7.2} s  (target ≤ 10 s for 10k: {})",
        total.as_secs_f64(),
        if total <= Duration::from_secs(10) * (n as u32).div_ceil(10_000) {
            "met"
        } else {
            "MISSED"
        }
    );
}
