//! The background jobs in a running `serve` (issue 19): an event naming a customer Privacy
//! Desk never saw, and a thin event, are completed from Stripe and linked within 5 s of their
//! 200, also when Stripe answers 503 for a while; `privacy-desk jobs` shows every job's runs,
//! and what waits for an API key; the retention purge runs at start. Real `serve`, SQLite and
//! keychain; the fake Stripe on loopback.

use std::path::Path;
use std::time::{Duration, Instant};

use privacy_desk_core::store::{requests as rq, Db};
use serde_json::{json, Value};

use crate::fake_stripe::{self, FakeStripe, KEY};
use crate::support::{add_stripe, cli_with, json_of, now, post_signed, Server};

/// What issue 19 promises: linked within this long after the 200.
const PROMPT: Duration = Duration::from_secs(5);
/// How long a poll waits before it gives up (longer than [`PROMPT`], so that a slow link
/// fails with its latency rather than a timeout).
const GIVE_UP: Duration = Duration::from_secs(20);
/// How many times the Stripe client sends a request that keeps failing (`MAX_RETRIES` + 1).
const CLIENT_TRIES: usize = 7;

/// A data dir with a Stripe processor (its key set when `with_key`), and the fake Stripe.
struct Setup {
    fake: FakeStripe,
    tmp: tempfile::TempDir,
    pid: i64,
    path: String,
}

impl Setup {
    fn new(with_key: bool) -> Setup {
        let fake = FakeStripe::start();
        let tmp = tempfile::tempdir().unwrap();
        let (pid, path) = add_stripe(tmp.path());
        if with_key {
            let out = cli_with(
                tmp.path(),
                Some(&fake.base),
                &["stripe", "set-key", &pid.to_string(), "--json"],
                Some(&format!("{KEY}\n")),
                &[],
            );
            assert_eq!(json_of(&out, "set-key")["stored"], true);
        }
        Setup {
            fake,
            tmp,
            pid,
            path,
        }
    }

    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// `serve` against the fake, with short client back-offs; SIGTERM on drop (also on a
    /// panic). Returns once the start-up catch-up has run, so that the fake's injected
    /// failures go to the requests the test makes.
    fn serve(&self) -> Server {
        let server = Server::start_with(
            self.dir(),
            "127.0.0.1:0",
            &[
                ("PRIVACY_DESK_STRIPE_API_BASE", &self.fake.base),
                ("PRIVACY_DESK_STRIPE_BACKOFF_MS", "5"),
            ],
        );
        poll("the start-up catch-up", || {
            let r = jobs(self.dir());
            job(&r, "catch_up")["last_run_at"].is_string().then_some(())
        });
        server
    }

    /// The paths of the fake's requests with their statuses, in order.
    fn requests(&self) -> Vec<(String, u16)> {
        self.fake
            .requests()
            .into_iter()
            .map(|r| (format!("{} {}", r.method, r.path), r.status))
            .collect()
    }
}

/// Polls `f` until it gives a value; panics after [`GIVE_UP`]. Returns it and how long it took.
fn poll<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> (T, Duration) {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return (v, start.elapsed());
        }
        assert!(start.elapsed() < GIVE_UP, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn jobs(dir: &Path) -> Value {
    json_of(
        &cli_with(dir, None, &["jobs", "--json"], None, &[]),
        "jobs --json",
    )
}

fn job<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == name)
        .unwrap_or_else(|| panic!("no job {name}: {report:#}"))
}

/// The activity log's row for `event_id`.
fn activity_row(dir: &Path, event_id: &str) -> Option<Value> {
    let out = cli_with(dir, None, &["activity", "list", "--json"], None, &[]);
    json_of(&out, "activity list")
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["event_id"] == event_id)
        .cloned()
}

/// POSTs `event` signed to `serve` and expects 200 accepted; returns when the 200 came.
fn post_accepted(s: &Setup, server: &Server, event: &Value) -> Instant {
    let (status, body) = post_signed(server.addr, &s.path, event.to_string().as_bytes());
    assert_eq!(
        (status, &body["outcome"]),
        (200, &json!("accepted")),
        "{body}"
    );
    Instant::now()
}

/// Waits until the activity log links `event` to `email`; returns how long after `acked`.
fn wait_linked(s: &Setup, event: &Value, email: &str, acked: Instant) -> Duration {
    let id = event["id"].as_str().unwrap();
    let (row, _) = poll(&format!("{id} linked to {email}"), || {
        activity_row(s.dir(), id).filter(|r| r["status"] == "linked")
    });
    let latency = acked.elapsed();
    assert_eq!(row["subject_email"], email, "{row}");
    latency
}

/// The client gave up ([`CLIENT_TRIES`] 503s): the run failed and `jobs` says so, with a retry due
/// 2 s later.
fn wait_failed_run(s: &Setup) {
    poll("the failed run in `jobs`", || {
        let r = jobs(s.dir());
        let j = job(&r, "stripe_pending");
        (j["failures"] == 1).then(|| {
            let err = j["last_error"].as_str().unwrap_or_default();
            assert!(err.contains("503"), "{j}");
            let wait = rfc3339(&j["next_run_at"]) - rfc3339(&j["last_run_at"]);
            assert!((1..=3).contains(&wait), "{j}");
        })
    });
}

/// The statuses the fake answered `request` with since the `since`-th request.
fn answers(s: &Setup, since: usize, request: &str) -> Vec<u16> {
    s.requests()[since..]
        .iter()
        .filter(|(r, _)| r == request)
        .map(|(_, st)| *st)
        .collect()
}

/// `fails` 503s, then a 200.
fn after_503s(fails: usize) -> Vec<u16> {
    let mut v = vec![503; fails];
    v.push(200);
    v
}

/// A customer at the fake whose `customer.created` Privacy Desk never received.
fn known_to_stripe_only(s: &Setup, i: usize) -> String {
    let cus = fake_stripe::customer(i, now() - 100 * 86_400);
    let id = cus["id"].as_str().unwrap().to_owned();
    s.fake
        .with(|st| st.objects.entry("customers".into()).or_default().push(cus));
    id
}

/// A thin event about customer `cus`, served by the fake at `/v2/core/events/{id}`.
fn thin_event(s: &Setup, id: &str, cus: &str) -> Value {
    thin_about(s, id, "v1.customer.updated", "customers", cus)
}

/// A thin event of `kind` about the object `object` of the fake's list `resource`.
fn thin_about(s: &Setup, id: &str, kind: &str, resource: &str, object: &str) -> Value {
    let created = chrono::DateTime::from_timestamp(now(), 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let thin = json!({
        "id": id, "object": "v2.core.event", "type": kind, "created": created, "livemode": false,
        "related_object": {"id": object, "type": resource.trim_end_matches('s'),
            "url": format!("/v1/{resource}/{object}")},
    });
    s.fake
        .with(|st| st.v2_events.insert(id.to_owned(), thin.clone()));
    thin
}

/// A payment for a customer only Stripe knows: looked up and linked. `fails` 503s answer the
/// first requests after the event arrives. Returns the time from the 200 to the link.
fn payment_case(fails: usize) -> Duration {
    let s = Setup::new(true);
    let cus = known_to_stripe_only(&s, 7);
    let server = s.serve();
    s.fake.with(|st| st.fail_next.extend(vec![503; fails]));
    let before = s.requests().len();
    let event = fake_stripe::payment_event(1, now(), &cus);
    let acked = post_accepted(&s, &server, &event);
    if fails >= CLIENT_TRIES {
        wait_failed_run(&s);
    }
    let latency = wait_linked(&s, &event, "person7@example.com", acked);
    let lookup = format!("GET /v1/customers/{cus}");
    assert_eq!(
        answers(&s, before, &lookup),
        after_503s(fails),
        "{:?}",
        s.requests()
    );
    latency
}

/// A thin event: fetched (the event, then its related object) and linked.
fn thin_case(fails: usize) -> Duration {
    let s = Setup::new(true);
    let cus = known_to_stripe_only(&s, 42);
    let server = s.serve();
    s.fake.with(|st| st.fail_next.extend(vec![503; fails]));
    let before = s.requests().len();
    let event = thin_event(&s, "evt_thin0000001", &cus);
    let acked = post_accepted(&s, &server, &event);
    if fails >= CLIENT_TRIES {
        wait_failed_run(&s);
    }
    let latency = wait_linked(&s, &event, "person42@example.com", acked);
    let fetch = "GET /v2/core/events/evt_thin0000001";
    let related = format!("GET /v1/customers/{cus}");
    assert_eq!(answers(&s, before, fetch), after_503s(fails));
    assert_eq!(answers(&s, before, &related), [200]);
    let order: Vec<String> = s.requests()[before..]
        .iter()
        .map(|(r, _)| r.clone())
        .filter(|r| *r == fetch || *r == related)
        .collect();
    assert_eq!(order.last(), Some(&related), "the event first: {order:?}");
    latency
}

#[test]
fn jobs_a_payment_for_an_unknown_customer_is_linked_within_5_s_of_its_200() {
    let latency = payment_case(0);
    eprintln!("payment linked {latency:?} after its 200");
    assert!(latency <= PROMPT, "linked {latency:?} after the 200");
}

#[test]
fn jobs_a_thin_event_is_fetched_and_linked_within_5_s_of_its_200() {
    let latency = thin_case(0);
    eprintln!("thin event linked {latency:?} after its 200");
    assert!(latency <= PROMPT, "linked {latency:?} after the 200");
}

/// A thin event about a payment of a customer only Stripe knows: the payment is fetched,
/// then its customer, and the event linked within the same 5 s.
#[test]
fn jobs_a_thin_payment_of_an_unknown_customer_is_linked_within_5_s_of_its_200() {
    let s = Setup::new(true);
    let cus = known_to_stripe_only(&s, 8);
    let pi = fake_stripe::payment_event(2, now(), &cus)["data"]["object"].clone();
    let pi_id = pi["id"].as_str().unwrap().to_owned();
    s.fake.with(|st| {
        let list = st.objects.entry("payment_intents".into()).or_default();
        list.push(pi);
    });
    let kind = "v1.payment_intent.succeeded";
    let event = thin_about(&s, "evt_thin0000003", kind, "payment_intents", &pi_id);
    let server = s.serve();
    let acked = post_accepted(&s, &server, &event);
    let latency = wait_linked(&s, &event, "person8@example.com", acked);
    eprintln!("thin payment linked {latency:?} after its 200");
    assert!(latency <= PROMPT, "linked {latency:?} after the 200");
    let asked: Vec<String> = s.requests().into_iter().map(|(r, _)| r).collect();
    let at = |r: &str| asked.iter().position(|a| a == r);
    let (fetch, payment) = (
        at("GET /v2/core/events/evt_thin0000003"),
        at(&format!("GET /v1/payment_intents/{pi_id}")),
    );
    let customer = at(&format!("GET /v1/customers/{cus}"));
    assert!(
        fetch.is_some() && fetch < payment && payment < customer,
        "{asked:?}"
    );
}

/// Three 503s: the client's own retries absorb them.
#[test]
fn jobs_both_complete_with_stripe_answering_503_three_times() {
    let (pay, thin) = (payment_case(3), thin_case(3));
    eprintln!("after 3 × 503: payment linked in {pay:?}, thin event in {thin:?}");
    assert!(pay <= PROMPT && thin <= PROMPT, "{pay:?} {thin:?}");
}

/// More 503s than the client retries (7 tries): the job fails, says so in `jobs`, and the
/// scheduler runs it again 2 s later, when the rest of the outage is absorbed.
#[test]
fn jobs_both_complete_when_stripe_fails_longer_than_the_client_retries() {
    for case in [payment_case, thin_case] {
        let latency = case(9);
        eprintln!("after 9 × 503: linked in {latency:?}");
        assert!(
            latency >= Duration::from_secs(2),
            "retried at once? {latency:?}"
        );
    }
}

/// While `serve` runs every job it runs has a last and a next run (the reminders run only
/// where a window shows them); once it stopped, none is scheduled.
#[test]
fn jobs_json_shows_each_job_s_last_and_next_run_and_none_after_serve_stops() {
    let s = Setup::new(true);
    let server = s.serve();
    let (r, _) = poll("every job's first run", || {
        let r = jobs(s.dir());
        r["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["name"] != "reminders")
            .all(|j| j["last_run_at"].is_string() && j["next_run_at"].is_string())
            .then_some(r)
    });
    let names: Vec<&str> = r["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "catch_up",
            "stripe_pending",
            "retention",
            "reminders",
            "deliveries_cap",
            "waiting_erasures",
            "backup"
        ]
    );
    for j in r["jobs"].as_array().unwrap() {
        if j["name"] == "reminders" {
            assert!(
                j["last_run_at"].is_null() && j["next_run_at"].is_null(),
                "{j}"
            );
            assert!(
                j["summary"].as_str().unwrap().contains("desktop app"),
                "{j}"
            );
            continue;
        }
        assert_eq!(j["failures"], 0, "{j}");
        assert!(j["last_error"].is_null(), "{j}");
        assert!(j["summary"].as_str().is_some_and(|s| !s.is_empty()), "{j}");
        let last = rfc3339(&j["last_run_at"]);
        let next = rfc3339(&j["next_run_at"]);
        assert!(next > last, "{j}");
    }
    assert_eq!(r["waiting"], json!([]), "the key is set: nothing waits");

    assert!(server.stop().success());
    let r = jobs(s.dir());
    for j in r["jobs"].as_array().unwrap() {
        assert!(
            j["next_run_at"].is_null(),
            "scheduled after serve stopped: {j}"
        );
        if j["name"] != "reminders" {
            assert!(j["last_run_at"].is_string(), "{j}");
        }
    }
}

/// Without an API key the lookup and the fetch wait, and `jobs` says which processor, how
/// many, and what to do.
#[test]
fn jobs_json_names_the_processor_whose_events_wait_for_an_api_key() {
    let s = Setup::new(false);
    let server = s.serve();
    for event in [
        fake_stripe::payment_event(1, now(), "cus_neverseen0001"),
        thin_event(&s, "evt_thin0000002", "cus_neverseen0002"),
    ] {
        let (status, body) = post_signed(server.addr, &s.path, event.to_string().as_bytes());
        assert_eq!(status, 200, "{body}");
    }
    let (r, _) = poll("the nudged run after the events", || {
        let r = jobs(s.dir());
        job(&r, "stripe_pending")["summary"]
            .as_str()
            .is_some_and(|t| t.ends_with("2 events wait for a Stripe API key"))
            .then_some(r)
    });
    let waiting = r["waiting"].as_array().unwrap();
    assert_eq!(waiting.len(), 1, "{r:#}");
    let w = &waiting[0];
    assert_eq!(w["processor_id"], s.pid);
    assert_eq!(
        (&w["unknown_customers"], &w["thin_events"]),
        (&json!(1), &json!(1))
    );
    let fix = w["fix"].as_str().unwrap();
    assert!(
        fix.contains("restricted key") && fix.contains("Processors → the processor"),
        "{fix}"
    );
    // The table says it in words.
    let out = cli_with(s.dir(), None, &["jobs"], None, &[]);
    let table = String::from_utf8_lossy(&out.stdout);
    let line = format!(
        "processor {} has 1 customer lookup and 1 thin event waiting for an API key: ",
        s.pid
    );
    assert!(out.status.success() && table.contains(&line), "{table}");
    // Nothing went to Stripe without a key, and waiting is not a failure.
    assert!(s.requests().is_empty(), "{:?}", s.requests());
    assert_eq!(job(&r, "stripe_pending")["failures"], 0);
    drop(server);
}

/// `serve` purges, at start, a retained record whose retention ended while nothing ran (the
/// clock moving past an end date while it runs: the core's
/// `the_running_jobs_purge_a_retained_record_once_its_retention_ends`).
#[test]
fn jobs_serve_runs_the_retention_purge_at_start() {
    let s = Setup::new(false);
    let db = Db::open(s.dir()).unwrap();
    let day = 86_400_000;
    let t = now() * 1000;
    for (event, until) in [("evt_ended", t - day), ("evt_kept", t + 365 * day)] {
        let row = rq::RetainedRow {
            request_id: None,
            subject_hash: "sh_test".into(),
            processor_id: Some(s.pid),
            event_id: event.into(),
            event_type: "charge.succeeded".into(),
            object_id: Some("ch_1".into()),
            customer_ref: None,
            occurred_at: t - 400 * day,
            fields: "{}".into(),
            legal_basis: "Art. 17(3)(b) GDPR".into(),
            retain_until: until,
        };
        db.write(move |c| rq::insert_retained(c, &row)).unwrap();
    }
    db.shutdown();
    let started = now();
    let server = s.serve();
    let (r, _) = poll("the retention purge", || {
        let r = jobs(s.dir());
        job(&r, "retention")["last_ok_at"].is_string().then_some(r)
    });
    let retention = job(&r, "retention");
    assert_eq!(
        retention["summary"], "1 retained record and 0 old events deleted",
        "{retention}"
    );
    assert!(
        rfc3339(&retention["last_run_at"]) >= started - 1,
        "{retention}"
    );
    // Daily: the next run is a day after this one.
    let gap = rfc3339(&retention["next_run_at"]) - rfc3339(&retention["last_run_at"]);
    assert!((86_399..=86_401).contains(&gap), "{retention}");
    let conn = rusqlite::Connection::open(s.dir().join("privacy-desk.db")).unwrap();
    let left: Vec<String> = conn
        .prepare("SELECT event_id FROM retained_records")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(left, ["evt_kept"]);
    drop(server);
}

/// An RFC 3339 time in `jobs --json`, in unix seconds.
fn rfc3339(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a time: {v}"));
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .timestamp()
}
