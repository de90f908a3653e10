//! Every fixture, signed and posted to `serve`, gives the outcome its manifest expects, and
//! the activity log and data subjects show the expected links.

use std::collections::HashMap;

use crate::support::*;
use serde_json::Value;

#[test]
fn every_fixture_is_stored_linked_and_minimised() {
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = add_stripe(dir.path());
    let server = Server::start(dir.path());
    let all = fixtures();
    assert_eq!(all.len(), 30);

    for f in &all {
        let (status, body) = post_signed(server.addr, &path, &f.body);
        assert_eq!(
            (status, body["outcome"].as_str()),
            (200, Some("accepted")),
            "{}",
            f.file
        );
    }
    // Stripe retries: the same event again is acknowledged and not stored twice.
    let (status, body) = post_signed(server.addr, &path, &all[3].body);
    assert_eq!((status, body["outcome"].as_str()), (200, Some("duplicate")));

    let d = dir.path();
    eventually("every event processed", || {
        let rows = cli_json(d, &["activity", "list"], None);
        rows.as_array().unwrap().len() == 30
            && rows
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["status"] != "pending")
    });

    // Each event lands on the subject the manifest names (the email in effect at the time).
    let rows = cli_json(d, &["activity", "list"], None);
    let by_id: HashMap<&str, &Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["event_id"].as_str().unwrap(), r))
        .collect();
    for f in &all {
        let m = &f.manifest;
        let row = by_id[m["event_id"].as_str().unwrap()];
        assert_eq!(row["subject_email"], m["subject_email"], "{}", f.file);
        assert_eq!(
            row["event_type"],
            format!("stripe:{}", m["type"].as_str().unwrap()),
            "{}",
            f.file
        );
        assert_eq!(row["source"], "stripe");
    }
    // Newest first, by the event's own time.
    let times: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["occurred_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    assert_eq!(rows[0]["occurred_at"], "2026-01-14T06:20:52.246Z");
    assert_eq!(
        rows[0]["status"], "awaiting_fetch",
        "the thin event waits for its payload"
    );

    // Five people; Alice is found by her old and her new address, and keeps one history.
    let subjects = cli_json(d, &["subjects", "list"], None);
    let emails: Vec<&str> = subjects
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        [
            "a.martin@example.net",
            "bruno.keller@example.net",
            "chloe.dubois@example.org",
            "dana.okafor@example.com",
            "ethan.brooks@example.net"
        ]
    );
    let alice_old = cli_json(d, &["subjects", "show", " Alice.Martin@EXAMPLE.com "], None);
    let alice_new = cli_json(d, &["subjects", "show", "a.martin@example.net"], None);
    assert_eq!(alice_old["id"], alice_new["id"]);
    assert_eq!(alice_new["email"], "a.martin@example.net");
    assert_eq!(alice_new["activity_count"], 4);
    assert_eq!(
        alice_new["external_ids"][0]["external_id"],
        "cus_STbDroNzejhEGQ"
    );
    let history: Vec<&str> = alice_new["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        ["alice.martin@example.com", "a.martin@example.net"]
    );
    let alice_events = cli_json(
        d,
        &["activity", "list", "--subject", "a.martin@example.net"],
        None,
    );
    assert_eq!(
        alice_events.as_array().unwrap().len(),
        4,
        "history before the change included"
    );

    // Chloe deleted her account: recorded, her history kept.
    let chloe = cli_json(d, &["subjects", "show", "chloe.dubois@example.org"], None);
    assert_eq!(chloe["status"], "deleted_at_processor");
    assert_eq!(chloe["activity_count"], 11);
    // Dana checked out as a guest: found by email, no Stripe customer id.
    let dana = cli_json(d, &["subjects", "show", "dana.okafor@example.com"], None);
    assert_eq!(dana["activity_count"], 1);
    assert_eq!(dana["external_ids"].as_array().unwrap().len(), 0);

    // Filters combine.
    let customer_events = cli_json(d, &["activity", "list", "--type", "customer.*"], None);
    // `*` spans dots: customer.created … and customer.subscription.*.
    assert_eq!(customer_events.as_array().unwrap().len(), 11);
    let bruno_charges = cli_json(
        d,
        &[
            "activity",
            "list",
            "--type",
            "charge.*",
            "--subject",
            "BRUNO.keller@example.net",
        ],
        None,
    );
    assert_eq!(bruno_charges.as_array().unwrap().len(), 3);
    let december = cli_json(
        d,
        &[
            "activity",
            "list",
            "--since",
            "2025-12-01",
            "--until",
            "2025-12-31",
        ],
        None,
    );
    assert_eq!(december.as_array().unwrap().len(), 12);

    let processors = cli_json(d, &["processor", "list"], None);
    assert_eq!(processors[0]["status"], "interconnected");
    assert!(processors[0]["last_event_at"].is_string());

    // No file in the data directory (database and WAL, before any checkpoint) holds a
    // secret, a card fingerprint, a client secret, a receipt URL or a card expiry field.
    assert_no_forbidden_data(d, &all);
    assert!(server.stop().success());
    assert_no_forbidden_data(d, &all);
}

fn assert_no_forbidden_data(dir: &std::path::Path, all: &[Fixture]) {
    let mut forbidden: Vec<String> = vec![
        SECRET.into(),
        "exp_month".into(),
        "exp_year".into(),
        "fingerprint".into(),
        "client_secret".into(),
        "receipt_url".into(),
        "pay.stripe.com".into(),
        "cvc_check".into(),
    ];
    for f in all {
        let v: Value = serde_json::from_slice(&f.body).unwrap();
        collect_values(&v, &mut forbidden);
    }
    let mut scanned = 0;
    // The control: a kept value that only an event's (compressed) payload holds is seen.
    let mut control = false;
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if !p.is_file() {
            continue;
        }
        let bytes = scannable_bytes(&p);
        scanned += bytes.len();
        control |= contains(&bytes, b"txn_3SRzkwLw7QmR2xNcBmODxjSI");
        for needle in &forbidden {
            assert!(
                !contains(&bytes, needle.as_bytes()),
                "{} holds forbidden data: {needle}",
                p.display()
            );
        }
    }
    assert!(scanned > 0);
    assert!(control, "the scan does not see into the stored payloads");
}

/// The values of the keys that must never be stored.
fn collect_values(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, val) in o {
                if matches!(
                    k.as_str(),
                    "fingerprint"
                        | "client_secret"
                        | "receipt_url"
                        | "hosted_invoice_url"
                        | "invoice_pdf"
                ) {
                    if let Some(s) = val.as_str() {
                        out.push(s.to_owned());
                    }
                }
                collect_values(val, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_values(x, out)),
        _ => {}
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
