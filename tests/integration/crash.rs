//! Durability: senders post signed events while the receiver is killed with SIGKILL and
//! restarted, again and again. Every event that got a 2xx is in the database, exactly once.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;

#[test]
fn every_acknowledged_event_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = add_stripe(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let addr: std::net::SocketAddr = listen.parse().unwrap();
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let stop = Arc::new(AtomicBool::new(false));

    let mut server = Some(Server::start_on(dir.path(), &listen));
    let senders: Vec<_> = (0..8)
        .map(|s| {
            let (acked, stop, path) = (acked.clone(), stop.clone(), path.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let id = format!("evt_crash_{s}_{n}");
                    // Like Stripe: retry until acknowledged (or the test ends).
                    loop {
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        let (status, _) = try_post_signed(addr, &path, &event_body(&id));
                        if status == 200 {
                            acked.lock().unwrap().insert(id.clone());
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    n += 1;
                }
            })
        })
        .collect();

    for round in 0..12 {
        std::thread::sleep(Duration::from_millis(150 + 40 * (round % 4)));
        server.take().unwrap().kill9();
        server = Some(Server::start_on(dir.path(), &listen));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    for s in senders {
        s.join().unwrap();
    }
    assert!(server.take().unwrap().stop().success());

    let acked = acked.lock().unwrap();
    assert!(
        acked.len() > 100,
        "only {} events acknowledged",
        acked.len()
    );
    let rows = cli_json(
        dir.path(),
        &["activity", "list", "--limit", "1000000"],
        None,
    );
    let mut counts: HashMap<String, usize> = HashMap::new();
    for r in rows.as_array().unwrap() {
        *counts
            .entry(r["event_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    for id in acked.iter() {
        assert_eq!(
            counts.get(id),
            Some(&1),
            "{id} acknowledged but stored {:?} times",
            counts.get(id)
        );
    }
    // Events left pending by a kill are linked on the next start.
    assert!(rows
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == "linked"));
}

/// Like `post_signed`, but a refused or reset connection is status 0, not a panic.
fn try_post_signed(
    addr: std::net::SocketAddr,
    path: &str,
    body: &[u8],
) -> (u16, serde_json::Value) {
    use std::io::Write;
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return (0, serde_json::Value::Null);
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let sig = sign(body);
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nStripe-Signature: {sig}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    if s.write_all(&req).is_err() {
        return (0, serde_json::Value::Null);
    }
    parse_response(&read_response(&mut s))
}
