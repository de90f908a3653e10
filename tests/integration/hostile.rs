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
    let stale = privacy_desk_core::stripe::signature::sign(
        &body,
        &privacy_desk_core::secrets::Secret::new(SECRET),
        now() - 301,
    );
    let wrong_secret = privacy_desk_core::stripe::signature::sign(
        &body,
        &privacy_desk_core::secrets::Secret::new("whsec_someone_else"),
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
    let _ = read_response(&mut s);
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
    use privacy_desk_core::context::Context;
    use privacy_desk_core::receiver::{Config, Receiver};

    let dir = tempfile::tempdir().unwrap();
    let (_, path) = add_stripe(dir.path());
    let ctx = Context::open(dir.path()).unwrap();
    let mut cfg = Config::new("127.0.0.1:0".parse().unwrap());
    // The whole head must arrive within this (hyper's header timeout, with a timer): long
    // enough that the slow clients still hold their slots when the cap is checked.
    cfg.limits.read_timeout = Duration::from_secs(3);
    // The body must arrive within this once the head is in.
    cfg.limits.request_deadline = Duration::from_secs(2);
    cfg.limits.max_connections = 8;
    let rx = Receiver::start(&ctx, cfg).unwrap();
    let addr = rx.local_addr().unwrap();

    // Slowloris: connections that send a byte of headers now and then, forever.
    let (connected, all_connected) = std::sync::mpsc::channel();
    let slow: Vec<_> = (0..6)
        .map(|_| {
            let connected = connected.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(b"POST /webhooks/stripe/x HTTP/1.1\r\n")
                    .unwrap();
                connected.send(()).unwrap();
                for _ in 0..100 {
                    std::thread::sleep(Duration::from_millis(300));
                    if s.write_all(b"X").is_err() {
                        break;
                    }
                }
                let mut out = Vec::new();
                let _ = s.read_to_end(&mut out);
                (started.elapsed(), out)
            })
        })
        .collect();
    // Every slow client holds a slot before the rest begins (a loaded machine may start
    // their threads late).
    for _ in 0..6 {
        all_connected.recv().unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    // Meanwhile an honest delivery goes through at once.
    let t = Instant::now();
    assert_eq!(post_signed(addr, &path, &event_body("evt_honest")).0, 200);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    // Beyond the connection cap: 503 at once, not a hang. (The honest connection's slot is
    // given back when it closes, a moment after its answer.)
    std::thread::sleep(Duration::from_millis(300));
    let hold: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    let (status, json) = post_signed(addr, &path, &event_body("evt_capped"));
    assert_eq!(status, 503, "{json}");
    assert_eq!(json["outcome"], "saturated");
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    drop(hold);
    for h in slow {
        let (took, out) = h.join().unwrap();
        // Cut off when the head timeout ran out: closed, nothing answered, nothing stored.
        assert!(
            took >= Duration::from_millis(2500) && took < Duration::from_secs(6),
            "slow client held for {took:?}"
        );
        assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    }
    // A body that trickles in is cut off by the request deadline: 408.
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
    )
    .unwrap();
    let trickle = std::thread::spawn({
        let mut s = s.try_clone().unwrap();
        move || {
            for _ in 0..200 {
                std::thread::sleep(Duration::from_millis(100));
                if s.write_all(b" ").is_err() {
                    break;
                }
            }
        }
    });
    let (status, json) = parse_response(&read_response(&mut s));
    assert_eq!(status, 408, "{json}");
    assert!(
        t.elapsed() >= Duration::from_secs(2) && t.elapsed() < Duration::from_secs(6),
        "{:?}",
        t.elapsed()
    );
    drop(s);
    trickle.join().unwrap();
    rx.shutdown();
    let events = cli_json(dir.path(), &["activity", "list"], None);
    assert_eq!(events.as_array().unwrap().len(), 1, "{events:#}");
}

/// Sends `request` on a new connection; the answer's status, its head (lower-cased) and how
/// long it took.
fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> (u16, String, Duration) {
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = s.write_all(request);
    let out = read_response(&mut s);
    let text = String::from_utf8_lossy(&out).to_ascii_lowercase();
    let head = text.split("\r\n\r\n").next().unwrap_or("").to_owned();
    (parse_response(&out).0, head, t.elapsed())
}

fn signed_request(path: &str, body: &[u8], extra: &str) -> Vec<u8> {
    let sig = sign(body);
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nStripe-Signature: {sig}\r\nContent-Length: {}\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn chunked_request(path: &str, sig: &str, chunks: &[u8], extra: &str) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nStripe-Signature: {sig}\r\n{extra}Transfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    r.extend_from_slice(chunks);
    r
}

fn stored_ids(dir: &std::path::Path) -> Vec<String> {
    let events = cli_json(dir, &["activity", "list", "--limit", "1000"], None);
    let mut ids: Vec<String> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn request_smuggling_and_odd_framing_get_a_clear_status_and_store_nothing_unverified() {
    let (dir, path, server) = setup();
    let a = server.addr;
    let body = event_body("evt_frame");
    let sig = sign(&body);
    let n = body.len();
    let as_one_chunk = |b: &[u8], ext: &str| {
        let mut c = format!("{:x}{ext}\r\n", b.len()).into_bytes();
        c.extend_from_slice(b);
        c.extend_from_slice(b"\r\n0\r\n\r\n");
        c
    };
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "Transfer-Encoding with a coding other than chunked",
            replace(&chunked_request(&path, &sig, &body, ""), b"chunked", b"gzip"),
            400,
        ),
        (
            "chunked after another coding",
            replace(&chunked_request(&path, &sig, &as_one_chunk(&body, ""), ""), b"chunked", b"gzip, chunked"),
            400,
        ),
        (
            "two differing Content-Lengths",
            signed_request(&path, &body, &format!("Content-Length: {}\r\n", n + 1)),
            400,
        ),
        (
            "Content-Length with a sign",
            format!("POST {path} HTTP/1.1\r\nHost: x\r\nStripe-Signature: {sig}\r\nContent-Length: +{n}\r\n\r\n")
                .into_bytes().into_iter().chain(body.iter().copied()).collect::<Vec<u8>>(),
            400,
        ),
        (
            "a chunk size that overflows",
            chunked_request(&path, &sig, b"fffffffffffffffffffff\r\nx\r\n0\r\n\r\n", ""),
            400,
        ),
        (
            "an empty chunk-size line instead of the last chunk",
            chunked_request(&path, &sig, &strip_last_chunk(&as_one_chunk(&body, "")), ""),
            400,
        ),
        (
            "a chunk extension with a bare LF",
            chunked_request(&path, &sig, &as_one_chunk(&body, ";ext=\"a\nb\""), ""),
            400,
        ),
        (
            "obs-fold in a header",
            format!("POST {path} HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\nStripe-Signature: {sig}\r\nContent-Length: {n}\r\n\r\n")
                .into_bytes().into_iter().chain(body.iter().copied()).collect::<Vec<u8>>(),
            400,
        ),
        (
            "a percent-encoded route",
            signed_request(&path.replace("/stripe/", "/%73tripe/"), &body, ""),
            404,
        ),
        (
            "two token parameters",
            signed_request(&format!("{path}&{}", path.split_once('?').unwrap().1), &body, ""),
            401,
        ),
    ];
    for (what, request, want) in &cases {
        let (status, head, took) = exchange(a, request);
        assert_eq!(status, *want, "{what}: {head}");
        assert!(took < Duration::from_secs(5), "{what}: took {took:?}");
    }
    // CL.TE and TE.CL: a Content-Length that would carry a second, signed request inside the
    // body. hyper follows RFC 9112 §6.3: Transfer-Encoding wins, Content-Length is dropped and
    // the connection is closed after the answer, so the smuggled bytes are never a request.
    let smuggled = signed_request(&path, &event_body("evt_smuggled"), "");
    let chunks = [&b"0\r\n\r\n"[..], &smuggled].concat();
    let cl = format!("Content-Length: {}\r\n", chunks.len());
    let cl_te = chunked_request(&path, &sig, &chunks, &cl);
    let te_cl = replace(
        &chunked_request(&path, &sig, &chunks, ""),
        b"Transfer-Encoding: chunked\r\n",
        format!("Transfer-Encoding: chunked\r\n{cl}").as_bytes(),
    );
    for (what, request) in [("CL.TE", cl_te), ("TE.CL", te_cl)] {
        let mut s = TcpStream::connect(a).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(&request).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out).to_ascii_lowercase();
        assert_eq!(text.matches("http/1.1 ").count(), 1, "{what}: {text}");
        assert_eq!(parse_response(&out).0, 400, "{what}: {text}");
        assert!(text.contains("connection: close"), "{what}: {text}");
    }
    assert_eq!(stored_ids(dir.path()), Vec::<String>::new());

    // Odd but valid framing is served: each of these is a verified delivery.
    let ok = |id: &str| {
        let b = event_body(id);
        let s = sign(&b);
        (b, s)
    };
    let (b1, s1) = ok("evt_ext");
    let (b2, s2) = ok("evt_trailer");
    let (b3, _) = ok("evt_abs");
    let (b4, _) = ok("evt_http10");
    let (b5, _) = ok("evt_utf8_header");
    let (b6, _) = ok("evt_bare_lf");
    let (b7, _) = ok("evt_dup_cl");
    let (b8, _) = ok("evt_utf8_query");
    let mut trailer = format!("{:x}\r\n", b2.len()).into_bytes();
    trailer.extend_from_slice(&b2);
    trailer.extend_from_slice(b"\r\n0\r\nX-Trailer: yes\r\n\r\n");
    let bare_lf = format!(
        "POST {path} HTTP/1.1\nHost: x\nStripe-Signature: {}\nContent-Length: {}\n\n",
        sign(&b6),
        b6.len()
    )
    .into_bytes()
    .into_iter()
    .chain(b6.iter().copied())
    .collect::<Vec<u8>>();
    let served: Vec<(&str, Vec<u8>)> = vec![
        (
            "a chunk extension",
            chunked_request(&path, &s1, &as_one_chunk(&b1, ";name=value"), ""),
        ),
        ("trailers", chunked_request(&path, &s2, &trailer, "")),
        (
            "an absolute-form target",
            signed_request(&format!("http://shop.example{path}"), &b3, ""),
        ),
        (
            "HTTP/1.0",
            replace(&signed_request(&path, &b4, ""), b"HTTP/1.1", b"HTTP/1.0"),
        ),
        (
            "a UTF-8 header value",
            signed_request(&path, &b5, "X-Company: Müller GmbH\r\n"),
        ),
        ("a bare-LF head", bare_lf),
        // Raw UTF-8 in the query: the http crate takes it, and the route is still exact.
        (
            "a UTF-8 query",
            signed_request(&format!("{path}&company=Müller"), &b8, ""),
        ),
        (
            "two equal Content-Lengths",
            signed_request(&path, &b7, &format!("Content-Length: {}\r\n", b7.len())),
        ),
    ];
    for (what, request) in &served {
        let (status, head, took) = exchange(a, request);
        assert_eq!(status, 200, "{what}: {head}");
        assert!(took < Duration::from_secs(5), "{what}: took {took:?}");
    }
    assert_eq!(
        stored_ids(dir.path()),
        [
            "evt_abs",
            "evt_bare_lf",
            "evt_dup_cl",
            "evt_ext",
            "evt_http10",
            "evt_trailer",
            "evt_utf8_header",
            "evt_utf8_query"
        ]
    );
}

/// `…\r\n0\r\n\r\n` → `…\r\n\r\n\r\n`: an empty line where the last chunk's `0` was.
fn strip_last_chunk(chunks: &[u8]) -> Vec<u8> {
    let end = chunks.len() - b"0\r\n\r\n".len();
    [&chunks[..end], b"\r\n\r\n"].concat()
}

fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let i = hay.windows(from.len()).position(|w| w == from).unwrap();
    [&hay[..i], to, &hay[i + from.len()..]].concat()
}

#[test]
fn any_method_on_any_path_is_answered_at_once_and_holds_nothing() {
    let (dir, path, server) = setup();
    let a = server.addr;
    // HEAD has no body: answered at once, and many in flight do not stop a real delivery.
    let heads: Vec<_> = (0..8)
        .map(|_| std::thread::spawn(move || exchange(a, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")))
        .collect();
    for method in [
        "GET", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "BREW", "HEAD",
    ] {
        let (status, head, took) = exchange(
            a,
            format!("{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
        );
        assert_eq!(status, 404, "{method}: {head}");
        assert!(took < Duration::from_secs(2), "{method}: {took:?}");
    }
    let t = Instant::now();
    assert_eq!(post_signed(a, &path, &event_body("evt_after_heads")).0, 200);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    for h in heads {
        let (status, _, took) = h.join().unwrap();
        assert_eq!(status, 404);
        assert!(took < Duration::from_secs(2), "{took:?}");
    }
    // A UTF-8 path is answered too, at once (it is not a route).
    let (status, _, took) = exchange(
        a,
        "POST /webhooks/ströpe HTTP/1.1\r\nHost: x\r\n\r\n".as_bytes(),
    );
    assert!(status == 400 || status == 404, "{status}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(stored_ids(dir.path()), ["evt_after_heads"]);
}

#[test]
fn kept_alive_connections_serve_one_request_after_another() {
    let (dir, path, server) = setup();
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    for i in 0..3 {
        s.write_all(&signed_request(
            &path,
            &event_body(&format!("evt_ka_{i}")),
            "",
        ))
        .unwrap();
        let out = read_response(&mut s);
        assert_eq!(
            parse_response(&out).0,
            200,
            "{}",
            String::from_utf8_lossy(&out)
        );
        assert!(!String::from_utf8_lossy(&out)
            .to_ascii_lowercase()
            .contains("connection: close"));
    }
    // Pipelined: a valid request and a forged one in one write; each is judged alone.
    let mut two = signed_request(&path, &event_body("evt_pipe_1"), "");
    let forged = event_body("evt_pipe_2");
    two.extend_from_slice(
        &format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nStripe-Signature: t=1,v1=00\r\nContent-Length: {}\r\n\r\n",
            forged.len()
        )
        .into_bytes().into_iter().chain(forged.iter().copied()).collect::<Vec<u8>>(),
    );
    s.write_all(&two).unwrap();
    // The two answers may arrive in one read: split them where the second status line starts.
    let mut first = read_response(&mut s);
    let at = |b: &[u8]| {
        b.windows(9)
            .skip(1)
            .position(|w| w == b"HTTP/1.1 ")
            .map(|i| i + 1)
    };
    if at(&first).is_none() {
        let more = read_response(&mut s);
        first.extend_from_slice(&more);
    }
    let second = first.split_off(at(&first).expect("a second answer"));
    assert_eq!(parse_response(&first).0, 200);
    assert_eq!(
        parse_response(&second).0,
        400,
        "{}",
        String::from_utf8_lossy(&second)
    );
    // A refusal closes the connection.
    assert!(String::from_utf8_lossy(&second)
        .to_ascii_lowercase()
        .contains("connection: close"));
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.is_empty());
    assert_eq!(
        stored_ids(dir.path()),
        ["evt_ka_0", "evt_ka_1", "evt_ka_2", "evt_pipe_1"]
    );
}

#[test]
fn expect_100_continue_is_answered_before_the_body_and_only_when_authorised() {
    let (_dir, path, server) = setup();
    let body = event_body("evt_expect");
    let sig = sign(&body);
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\nStripe-Signature: {sig}\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let mut interim = [0u8; 25];
    s.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(&body).unwrap();
    assert_eq!(parse_response(&read_response(&mut s)).0, 200);

    // Without the right token, the body is never asked for: 401 straight away.
    let (base, _) = path.split_once("?token=").unwrap();
    let (status, head, took) = exchange(
        server.addr,
        format!("POST {base}?token=nope HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n").as_bytes(),
    );
    assert_eq!(status, 401, "{head}");
    assert!(!head.contains("100 continue"), "{head}");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[test]
fn a_signature_timestamp_far_in_the_past_is_stale_not_wrapped_around() {
    let (dir, path, server) = setup();
    let body = event_body("evt_wrap");
    for t in [now() + i64::MIN, i64::MIN, now() - 301] {
        let sig = privacy_desk_core::stripe::signature::sign(
            &body,
            &privacy_desk_core::secrets::Secret::new(SECRET),
            t,
        );
        let (status, json) = post(server.addr, &path, &body, &[("Stripe-Signature", &sig)]);
        assert_eq!(status, 400, "t={t}: {json}");
        assert!(
            json["reason"].as_str().unwrap().contains("tolerance"),
            "t={t}: {json}"
        );
    }
    assert_eq!(stored_ids(dir.path()), Vec::<String>::new());
}

/// VmRSS (resident set now) of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn memory_per_connection_follows_the_bytes_received() {
    let (_dir, path, server) = setup();
    assert_eq!(
        post_signed(server.addr, &path, &event_body("evt_warm")).0,
        200
    );
    std::thread::sleep(Duration::from_millis(200));
    let before = rss_kib(server.pid());
    // 16 connections each declare 1 MiB and send 1 KiB: nothing is reserved for the rest.
    let held: Vec<TcpStream> = (0..16)
        .map(|_| {
            let mut s = TcpStream::connect(server.addr).unwrap();
            write!(
                s,
                "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
                1024 * 1024
            )
            .unwrap();
            s.write_all(&[b' '; 1024]).unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let during = rss_kib(server.pid());
    assert!(
        during.saturating_sub(before) <= 2 * 1024,
        "16 connections that declared 1 MiB each cost {} KiB",
        during.saturating_sub(before)
    );
    drop(held);

    // One chunked body just under the cap costs about its size, not twice it.
    let before = peak_rss_kib(server.pid());
    let mut req = chunked_request(&path, "t=1,v1=00", b"", "");
    for _ in 0..15 {
        req.extend_from_slice(format!("{:x}\r\n", 64 * 1024).as_bytes());
        req.extend_from_slice(&vec![b' '; 64 * 1024]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let (status, _, _) = exchange(server.addr, &req);
    assert_eq!(status, 400);
    let grew = peak_rss_kib(server.pid()).saturating_sub(before);
    assert!(
        grew <= 1536,
        "a 960 KiB chunked body raised the peak RSS by {grew} KiB"
    );
}

#[test]
fn the_tunnel_path_is_the_same_service_over_any_byte_stream() {
    use privacy_desk_core::context::Context;
    use privacy_desk_core::receiver::{Config, Receiver};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = tempfile::tempdir().unwrap();
    let (_, path) = add_stripe(dir.path());
    let ctx = Context::open(dir.path()).unwrap();
    // No listener at all: what `tunnel start` runs; connections come only through the gate.
    let rx = Receiver::start(&ctx, Config::gate_only()).unwrap();
    assert!(rx.local_addr().is_none());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let exchange = |request: Vec<u8>| {
        // What ngrok's `listen()` yields is a byte stream like this one.
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        rx.gate().serve(server);
        rt.block_on(async move {
            client.write_all(&request).await.unwrap();
            let mut out = Vec::new();
            let read = client.read_to_end(&mut out);
            tokio::time::timeout(Duration::from_secs(10), read)
                .await
                .expect("an answer in time")
                .unwrap();
            parse_response(&out)
        })
    };
    let close = "Connection: close\r\n";
    let (status, json) = exchange(signed_request(&path, &event_body("evt_tunnel"), close));
    assert_eq!(
        (status, json["outcome"].as_str()),
        (200, Some("accepted")),
        "{json}"
    );
    let (status, _) = exchange(signed_request(
        &path.replace("token=", "token=x"),
        &event_body("evt_t2"),
        "",
    ));
    assert_eq!(status, 401);
    let (status, _) =
        exchange(b"GET /admin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec());
    assert_eq!(status, 404);
    rx.shutdown();
    ctx.db.shutdown();
    assert_eq!(stored_ids(dir.path()), ["evt_tunnel"]);
}

#[test]
fn the_write_queue_is_bounded() {
    use privacy_desk_core::store::{Connection, Db, Job};
    use std::sync::mpsc;

    struct Block(mpsc::Receiver<()>);
    impl Job for Block {
        fn apply(&mut self, _: &Connection) -> bool {
            let _ = self.0.recv();
            true
        }
        fn finish(self: Box<Self>, _: privacy_desk_core::error::Result<()>) {}
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
        if queued > privacy_desk_core::store::WRITE_QUEUE + 10 {
            break false;
        }
    };
    assert!(refused, "the queue is bounded");
    assert_eq!(queued, privacy_desk_core::store::WRITE_QUEUE);
    drop(release);
}

#[test]
fn junk_traffic_cannot_flush_the_record_of_real_deliveries() {
    use privacy_desk_core::context::Context;
    use privacy_desk_core::receiver::{Config, Receiver};

    let dir = tempfile::tempdir().unwrap();
    let (_, path) = add_stripe(dir.path());
    let ctx = Context::open(dir.path()).unwrap();
    let mut cfg = Config::new("127.0.0.1:0".parse().unwrap());
    // Small caps, same rule as the defaults (20,000 and 2,000).
    cfg.deliveries.kept = 50;
    cfg.deliveries.unknown_kept = 20;
    let rx = Receiver::start(&ctx, cfg).unwrap();
    let a = rx.local_addr().unwrap();
    assert_eq!(post_signed(a, &path, &event_body("evt_real")).0, 200);
    // A bad signature on the real endpoint is a real (failed) delivery: kept too.
    assert_eq!(
        post(a, &path, b"{}", &[("Stripe-Signature", "t=1,v1=00")]).0,
        400
    );
    for i in 0..120 {
        let junk = format!("GET /wp-login.php?{i} HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(raw(a, junk.as_bytes()).0, 404);
    }
    rx.shutdown();
    ctx.db.shutdown();
    let log = cli_json(dir.path(), &["deliveries", "list", "--limit", "1000"], None);
    let log = log.as_array().unwrap();
    let real: Vec<_> = log.iter().filter(|d| d["processor_id"].is_i64()).collect();
    assert_eq!(real.len(), 2, "{log:#?}");
    assert!(real.iter().any(|d| d["event_id"] == "evt_real"));
    let junk = log.len() - real.len();
    assert!((20..=40).contains(&junk), "{junk} junk rows kept");
}

#[test]
fn times_outside_the_years_0001_to_9999_are_refused_naming_the_field() {
    let (dir, path, server) = setup();
    for (id, created) in [
        ("evt_y262140", "8210266876800"),
        ("evt_neg", "-99999999999999"),
    ] {
        let body = format!(
            r#"{{"id":"{id}","object":"event","type":"customer.created","created":{created},"data":{{"object":{{"id":"cus_1","object":"customer","email":"t@example.com"}}}}}}"#
        )
        .into_bytes();
        let (status, json) = post_signed(server.addr, &path, &body);
        assert_eq!(status, 400, "{json}");
        assert!(
            json["reason"].as_str().unwrap().contains("`created`"),
            "{json}"
        );
    }
    assert_eq!(stored_ids(dir.path()), Vec::<String>::new());
}
