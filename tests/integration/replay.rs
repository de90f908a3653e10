//! Replays of the generic webhook (issue 17), through the real CLI and `serve`: a new
//! processor signs a timestamp (Standard Webhooks: `{webhook-id}.{webhook-timestamp}.{body}`)
//! and stale, future or re-stamped deliveries are refused; an event id once stored stays
//! known after its event was erased or purged by retention, so a replay is a duplicate;
//! configurations stored before timestamps existed keep working on the body alone.
//!
//! Signatures are computed here with the HMAC crate, not with the app's signing code.

use std::path::Path;

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::support::*;

const SECRET: &str = "books-replay-secret-0042";

fn hmac_hex(message: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    m.update(message);
    hex::encode(m.finalize().into_bytes())
}

/// `processor add webhook` with pointers for [`body`], the signing secret, and `extra` flags;
/// returns its id and webhook path.
fn add_processor(dir: &Path, name: &str, extra: &[&str]) -> (i64, String) {
    let mut args = vec![
        "processor",
        "add",
        "webhook",
        "--name",
        name,
        "--id-pointer",
        "/id",
        "--type-pointer",
        "/type",
        "--email-pointer",
        "/contact/email",
        "--signing-secret-stdin",
    ];
    args.extend_from_slice(extra);
    let p = cli_json(dir, &args, Some(&format!("{SECRET}\n")));
    (
        p["id"].as_i64().unwrap(),
        p["webhook_path"].as_str().unwrap().to_owned(),
    )
}

fn body(id: &str, email: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"id": id, "type": "contact.updated",
        "contact": {"email": email, "phone": "+44 20 7946 0111"}}))
    .unwrap()
}

/// The default scheme's headers: `X-Signature` (hex) over `{msg_id}.{ts}.{body}`.
fn stamped(msg_id: &str, ts: i64, body: &[u8]) -> Vec<(String, String)> {
    let mut signed = format!("{msg_id}.{ts}.").into_bytes();
    signed.extend_from_slice(body);
    vec![
        ("webhook-id".into(), msg_id.into()),
        ("webhook-timestamp".into(), ts.to_string()),
        ("X-Signature".into(), hmac_hex(&signed)),
    ]
}

fn send(server: &Server, path: &str, body: &[u8], headers: &[(String, String)]) -> (u16, Value) {
    let h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    post(server.addr, path, body, &h)
}

fn outcome(r: &(u16, Value)) -> (u16, &str) {
    (r.0, r.1["outcome"].as_str().unwrap_or_default())
}

fn activity_ids(dir: &Path) -> Vec<String> {
    let rows = cli_json(dir, &["activity", "list"], None);
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["event_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Replaces the processor's configuration by the one `processor add webhook` stored before
/// timestamps existed (no `timestamp` field).
fn store_body_only_config(dir: &Path, pid: i64) {
    let old = json!({"signature_header": "X-Signature", "signature_encoding": "hex",
        "signature_prefix": "", "id_pointer": "/id", "type_pointer": "/type",
        "time_pointer": null, "email_pointer": "/contact/email", "name_pointer": null});
    let conn = rusqlite::Connection::open(dir.join("privacy-desk.db")).unwrap();
    let n = conn
        .execute(
            "UPDATE processors SET config = ?1 WHERE id = ?2",
            rusqlite::params![old.to_string(), pid],
        )
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn new_processors_sign_a_timestamp_and_stale_or_restamped_deliveries_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // `--timestamp` alone: the Standard Webhooks header names and 300 s.
    let (pid, path) = add_processor(dir, "Books", &["--timestamp"]);
    let server = Server::start(dir);
    let now = now();

    // The body alone signed, as before: refused, naming the missing header.
    let b1 = body("bk-1", "ann@example.com");
    let r = send(
        &server,
        &path,
        &b1,
        &[("X-Signature".into(), hmac_hex(&b1))],
    );
    assert_eq!(r.0, 400, "{}", r.1);
    assert!(
        r.1["reason"].as_str().unwrap().contains("webhook-id"),
        "{}",
        r.1
    );

    // Signed with the id and a current timestamp: accepted; the same event re-sent later
    // with a fresh stamp is a duplicate.
    let r = send(&server, &path, &b1, &stamped("msg_1", now, &b1));
    assert_eq!(outcome(&r), (200, "accepted"), "{}", r.1);
    let r = send(&server, &path, &b1, &stamped("msg_1b", now + 1, &b1));
    assert_eq!(outcome(&r), (200, "duplicate"), "{}", r.1);

    // Stale and future timestamps, validly signed: refused, naming the header.
    let b2 = body("bk-2", "bob@example.com");
    for ts in [now - 600, now + 600] {
        let r = send(&server, &path, &b2, &stamped("msg_2", ts, &b2));
        assert_eq!(outcome(&r), (400, "stale_timestamp"), "{ts}: {}", r.1);
        let reason = r.1["reason"].as_str().unwrap();
        assert!(
            reason.contains("webhook-timestamp") && reason.contains("300 s"),
            "{reason}"
        );
    }
    // A captured delivery with a fresh timestamp put on it: the signature no longer matches.
    let mut restamped = stamped("msg_2", now - 600, &b2);
    restamped[1].1 = now.to_string();
    let r = send(&server, &path, &b2, &restamped);
    assert_eq!(outcome(&r), (400, "bad_signature"), "{}", r.1);
    // ...and so does a changed delivery id.
    let mut reid = stamped("msg_2", now, &b2);
    reid[0].1 = "msg_other".into();
    assert_eq!(
        outcome(&send(&server, &path, &b2, &reid)),
        (400, "bad_signature")
    );
    // A timestamp that is not unix seconds.
    let mut ms = stamped("msg_2", now * 1000, &b2);
    ms[1].1 = "2025-11-10T09:00:00Z".into();
    let r = send(&server, &path, &b2, &ms);
    assert_eq!(r.0, 400);
    assert!(
        r.1["reason"]
            .as_str()
            .unwrap()
            .contains("webhook-timestamp"),
        "{}",
        r.1
    );

    // Configured headers and tolerance: 600 s old is within 1000 s.
    let (_, lenient) = add_processor(
        dir,
        "Ledger",
        &[
            "--timestamp",
            "--id-header",
            "X-Delivery",
            "--timestamp-header",
            "X-Sent-At",
            "--timestamp-tolerance",
            "1000",
        ],
    );
    let b3 = body("lg-1", "cy@example.com");
    let mut h = stamped("d-1", now - 600, &b3);
    h[0].0 = "X-Delivery".into();
    h[1].0 = "X-Sent-At".into();
    assert_eq!(
        outcome(&send(&server, &lenient, &b3, &h)),
        (200, "accepted")
    );

    // Refusals are logged as deliveries, like the others.
    let deliveries = cli_json(dir, &["deliveries", "list"], None);
    let stale: Vec<&Value> = deliveries
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["outcome"] == "stale_timestamp")
        .collect();
    assert_eq!(stale.len(), 2, "{deliveries:#}");
    assert!(stale
        .iter()
        .all(|d| d["status_code"] == 400 && d["processor_id"] == pid));
    let mut ids = activity_ids(dir);
    ids.sort();
    assert_eq!(ids, ["bk-1", "lg-1"]);
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn a_delivery_replayed_after_its_event_was_erased_or_purged_is_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // A processor that checks only the body's signature (stored before timestamps existed;
    // one added without `--timestamp` is the same): a captured delivery can be sent again
    // verbatim, and its event id is all that recognises it.
    let (pid, path) = add_processor(dir, "Books", &[]);
    store_body_only_config(dir, pid);
    let erased = body("bk-erased", "zoe@example.com");
    let purged = body("bk-purged", "yann@example.com");
    let deliver =
        |server: &Server, b: &[u8]| send(server, &path, b, &[("X-Signature".into(), hmac_hex(b))]);

    let server = Server::start(dir);
    for b in [&erased, &purged] {
        assert_eq!(outcome(&deliver(&server, b)), (200, "accepted"));
    }
    eventually("both linked", || {
        let rows = cli_json(dir, &["activity", "list"], None);
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "linked")
            && rows.as_array().unwrap().len() == 2
    });
    assert_eq!(server.stop().code(), Some(0));

    // Zoe's events are erased...
    let r = cli_json(
        dir,
        &["dsr", "new", "erasure", "--email", "zoe@example.com"],
        None,
    );
    let id = r["id"].as_i64().unwrap().to_string();
    cli_json(
        dir,
        &["dsr", "verify-identity", &id, "--method", "signed letter"],
        None,
    );
    let done = cli_json(dir, &["dsr", "erase", &id, "--yes"], None);
    assert_eq!(activity_ids(dir), ["bk-purged"], "{done}");
    // ...and Yann's is past a 30-day retention, applied when `serve` starts.
    {
        let conn = rusqlite::Connection::open(dir.join("privacy-desk.db")).unwrap();
        conn.execute(
            "UPDATE events SET received_at = received_at - 40 * 86400000",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO settings (key, value) VALUES ('retention_days', '30')",
            [],
        )
        .unwrap();
    }
    let server = Server::start(dir);
    eventually("the retention applied", || activity_ids(dir).is_empty());

    // The same deliveries again: duplicates, nothing stored.
    for b in [&erased, &purged] {
        let r = deliver(&server, b);
        assert_eq!(outcome(&r), (200, "duplicate"), "{}", r.1);
    }
    // A new event is still new.
    let fresh = body("bk-new", "xavier@example.com");
    assert_eq!(outcome(&deliver(&server, &fresh)), (200, "accepted"));
    assert_eq!(activity_ids(dir), ["bk-new"]);
    assert_eq!(server.stop().code(), Some(0));

    // What stays known is a keyed hash, not the id.
    let conn = rusqlite::Connection::open(dir.join("privacy-desk.db")).unwrap();
    let hashes: Vec<Vec<u8>> = conn
        .prepare("SELECT hash FROM replay_cache")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(hashes.len(), 2);
    assert!(hashes
        .iter()
        .all(|h| h.len() == 16 && !String::from_utf8_lossy(h).contains("bk-")));
    // The erased subject did not come back with the replay.
    let subjects = cli_json(dir, &["subjects", "list"], None);
    assert!(!subjects.to_string().contains("zoe@"), "{subjects}");
}

/// A processor stored before timestamps existed (its configuration has no `timestamp`)
/// keeps verifying the body alone.
#[test]
fn a_processor_stored_without_a_timestamp_setting_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (pid, path) = add_processor(dir, "Books", &[]);
    store_body_only_config(dir, pid);
    let server = Server::start(dir);
    let b = body("old-1", "ann@example.com");
    let r = send(&server, &path, &b, &[("X-Signature".into(), hmac_hex(&b))]);
    assert_eq!(outcome(&r), (200, "accepted"), "{}", r.1);
    assert_eq!(server.stop().code(), Some(0));
}
