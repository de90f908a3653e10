//! The bad-input matrix of CONTRACT.md, and traffic meant to hurt: slow clients, huge
//! headers, oversized and chunked bodies, connection floods.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::*;

fn setup() -> (tempfile::TempDir, String, Server) {
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = add_stripe(dir.path());
    let server = Server::start(dir.path());
    (dir, path, server)
}

#[test]
fn the_bad_input_matrix_gets_the_contract_statuses() {
    let (dir, path, server) = setup();
    let a = server.addr;
    let body = event_body("evt_matrix");
    let (base, token) = path.split_once("?token=").unwrap();
    let sig = sign(&body);
    let stale = privacy_desk::stripe::signature::sign(
        &body,
        &privacy_desk::secrets::Secret::new(SECRET),
        now() - 301,
    );
    let wrong_secret = privacy_desk::stripe::signature::sign(
        &body,
        &privacy_desk::secrets::Secret::new("whsec_someone_else"),
        now(),
    );
    let other_endpoint = format!("/webhooks/stripe/{}?token={token}", "0".repeat(24));
    let no_token = base.to_owned();
    let bad_token = format!("{base}?token=x{token}");
    let custom_route = path.replace("/stripe/", "/custom/");

    type Case<'a> = (&'a str, String, Vec<u8>, Vec<(&'a str, &'a str)>, u16);
    let cases: Vec<Case> = vec![
        (
            "unknown endpoint",
            other_endpoint,
            body.clone(),
            vec![("Stripe-Signature", &sig)],
            401,
        ),
        (
            "token missing",
            no_token,
            body.clone(),
            vec![("Stripe-Signature", &sig)],
            401,
        ),
        (
            "token wrong",
            bad_token,
            body.clone(),
            vec![("Stripe-Signature", &sig)],
            401,
        ),
        (
            "wrong route kind",
            custom_route,
            body.clone(),
            vec![("Stripe-Signature", &sig)],
            401,
        ),
        ("signature missing", path.clone(), body.clone(), vec![], 400),
        (
            "signature unparsable",
            path.clone(),
            body.clone(),
            vec![("Stripe-Signature", "nonsense")],
            400,
        ),
        (
            "no v1",
            path.clone(),
            body.clone(),
            vec![("Stripe-Signature", "t=1,v0=abc")],
            400,
        ),
        (
            "wrong secret",
            path.clone(),
            body.clone(),
            vec![("Stripe-Signature", &wrong_secret)],
            400,
        ),
        (
            "stale timestamp",
            path.clone(),
            body.clone(),
            vec![("Stripe-Signature", &stale)],
            400,
        ),
    ];
    for (what, p, b, h, want) in cases {
        let (status, json) = post(a, &p, &b, &h);
        assert_eq!(status, want, "{what}: {json}");
        assert!(json["outcome"].is_string(), "{what}: JSON answer");
    }
    let (_, json) = post(a, &path, &body, &[("Stripe-Signature", &stale)]);
    assert!(
        json["reason"].as_str().unwrap().contains("tolerance"),
        "{json}"
    );

    // Signed, but not an event.
    for bad in [
        &b"not json"[..],
        b"[]",
        br#"{"id":"evt_1"}"#,
        br#"{"id":"evt_1","type":"x"}"#,
    ] {
        let (status, json) = post_signed(a, &path, bad);
        assert_eq!(status, 400, "{}: {json}", String::from_utf8_lossy(bad));
        assert_eq!(json["outcome"], "invalid_payload");
    }
    // Other paths and methods.
    assert_eq!(raw(a, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").0, 404);
    let get = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(raw(a, get.as_bytes()).0, 404);
    assert_eq!(post_signed(a, "/admin", &body).0, 404);
    // Over 1 MiB, declared: refused before the body is read.
    let big = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        1024 * 1024 + 1
    );
    assert_eq!(raw(a, big.as_bytes()).0, 413);
    // Over 1 MiB, chunked.
    let mut chunked =
        format!("POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            .into_bytes();
    for _ in 0..17 {
        chunked.extend_from_slice(format!("{:x}\r\n", 64 * 1024).as_bytes());
        chunked.extend_from_slice(&vec![b' '; 64 * 1024]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(raw(a, &chunked).0, 413);
    // A valid chunked delivery is accepted.
    let ok_body = event_body("evt_chunked");
    let sig = sign(&ok_body);
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nStripe-Signature: {sig}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for part in ok_body.chunks(7) {
        req.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        req.extend_from_slice(part);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(
        raw(a, &req),
        (
            200,
            serde_json::json!({"outcome": "accepted", "reason": null})
        )
    );
    // Headers over 16 KiB.
    let huge = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\nContent-Length: 2\r\n\r\n{{}}",
        "a".repeat(17 * 1024)
    );
    assert_eq!(raw(a, huge.as_bytes()).0, 431);
    // Ambiguous framing (request smuggling).
    let smuggle = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    );
    assert_eq!(raw(a, smuggle.as_bytes()).0, 400);
    // Not HTTP at all.
    assert_eq!(
        raw(a, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n").0,
        400
    );

    // Every answer is in the deliveries log, with its reason, and nothing was stored from
    // the rejected ones.
    let d = dir.path();
    let logged = || cli_json(d, &["deliveries", "list", "--limit", "100"], None);
    for _ in 0..50 {
        if logged().as_array().unwrap().len() >= 23 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(logged().as_array().unwrap().len(), 23, "{:#}", logged());
    let deliveries = cli_json(d, &["deliveries", "list", "--limit", "100"], None);
    let codes: Vec<u64> = deliveries
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status_code"].as_u64().unwrap())
        .collect();
    for code in [200, 400, 401, 404, 413, 431] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    let events = cli_json(d, &["activity", "list"], None);
    let ids: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["evt_chunked"]);
}

/// VmHWM (peak resident set) of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_200_mib_header_line_costs_the_receiver_almost_nothing() {
    let (_dir, path, server) = setup();
    // Warm up: one ordinary request so that the threads and buffers exist.
    assert_eq!(
        post_signed(server.addr, &path, &event_body("evt_warm")).0,
        200
    );
    std::thread::sleep(Duration::from_millis(200));
    let before = peak_rss_kib(server.pid());

    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(format!("POST {path} HTTP/1.1\r\nX-Huge: ").as_bytes())
        .unwrap();
    let chunk = vec![b'a'; 1024 * 1024];
    let mut sent = 0usize;
    for _ in 0..200 {
        match s.write_all(&chunk) {
            Ok(()) => sent += chunk.len(),
            Err(_) => break, // the receiver answered 431 and closed: as it should
        }
    }
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let after = peak_rss_kib(server.pid());
    assert!(
        after.saturating_sub(before) <= 1024,
        "peak RSS grew by {} KiB (sent {} MiB)",
        after - before,
        sent >> 20
    );
    // And it still serves.
    assert_eq!(
        post_signed(server.addr, &path, &event_body("evt_after")).0,
        200
    );
}

#[test]
fn slow_clients_are_timed_out_and_do_not_starve_others() {
    use privacy_desk::context::Context;
    use privacy_desk::receiver::{Config, Receiver};

    let dir = tempfile::tempdir().unwrap();
    let (_, path) = add_stripe(dir.path());
    let ctx = Context::open(dir.path()).unwrap();
    let mut cfg = Config::new("127.0.0.1:0".parse().unwrap());
    cfg.limits.read_timeout = Duration::from_millis(500);
    // Long enough that the slow clients still hold their slots when the cap is checked,
    // even on a loaded machine.
    cfg.limits.request_deadline = Duration::from_secs(5);
    cfg.limits.max_connections = 8;
    let rx = Receiver::start(&ctx, cfg).unwrap();
    let addr = rx.local_addr();

    // Slowloris: connections that send a byte of headers now and then, forever.
    let slow: Vec<_> = (0..6)
        .map(|_| {
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(b"POST /webhooks/stripe/x HTTP/1.1\r\n")
                    .unwrap();
                for _ in 0..100 {
                    std::thread::sleep(Duration::from_millis(300));
                    if s.write_all(b"X").is_err() {
                        break;
                    }
                }
                let mut out = Vec::new();
                let _ = s.read_to_end(&mut out);
                (started.elapsed(), parse_response(&out).0)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // Meanwhile an honest delivery goes through at once.
    let t = Instant::now();
    assert_eq!(post_signed(addr, &path, &event_body("evt_honest")).0, 200);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    // Beyond the connection cap: 503 at once, not a hang.
    let hold: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(100));
    let (status, _) = post_signed(addr, &path, &event_body("evt_capped"));
    assert_eq!(status, 503);
    drop(hold);
    for h in slow {
        let (took, status) = h.join().unwrap();
        assert!(
            took < Duration::from_secs(7),
            "slow client held for {took:?}"
        );
        assert_eq!(status, 408);
    }
    rx.shutdown();
}

#[test]
fn the_write_queue_is_bounded() {
    use privacy_desk::store::{Connection, Db, Job};
    use std::sync::mpsc;

    struct Block(mpsc::Receiver<()>);
    impl Job for Block {
        fn apply(&mut self, _: &Connection) -> bool {
            let _ = self.0.recv();
            true
        }
        fn finish(self: Box<Self>, _: privacy_desk::error::Result<()>) {}
    }

    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let (release, blocked) = mpsc::channel();
    db.submit(Box::new(Block(blocked))).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let mut queued = 0;
    let refused = loop {
        let (_, rx) = mpsc::channel();
        match db.try_submit(Box::new(Block(rx))) {
            Ok(()) => queued += 1,
            Err(_) => break true,
        }
        if queued > privacy_desk::store::WRITE_QUEUE + 10 {
            break false;
        }
    };
    assert!(refused, "the queue is bounded");
    assert_eq!(queued, privacy_desk::store::WRITE_QUEUE);
    drop(release);
}
