//! A real receiver on loopback and an open-loop client: signed webhooks (`Stripe-Signature:
//! t=…,v1=HMAC-SHA256`) at a fixed rate, each on a connection of its own (as Stripe posts
//! them), latency measured from the instant the request was due (so a stalled receiver
//! cannot hide its queue: no coordinated omission).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use privacy_desk_core::context::Context;
use privacy_desk_core::jobs::{self, Scheduler};
use privacy_desk_core::receiver::{Config, Receiver};
use sha2::Sha256;

use super::gen::{Body, Gen};

const WORKERS: usize = 32;

pub struct Load {
    t0: Instant,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<Vec<Sample>>>,
    receiver: Receiver,
    jobs: Option<Scheduler>,
}

/// (due, from the start; latency; answered 200).
type Sample = (Duration, Duration, bool);

pub struct Report(Vec<Sample>);

impl Load {
    /// Starts the receiver and the client; the bodies continue `gen`'s stream. `with_jobs`:
    /// the background jobs run beside the receiver, nudged by it, as in `privacy-desk serve`
    /// and the app.
    pub fn start(
        ctx: &Context,
        path: &str,
        secret: &str,
        rate: f64,
        gen: &mut Gen,
        with_jobs: bool,
    ) -> Load {
        let mut cfg = Config::new(SocketAddr::from(([127, 0, 0, 1], 0)));
        let jobs = with_jobs.then(|| {
            let jobs = Scheduler::start(ctx, jobs::Options::default()).expect("start the jobs");
            jobs.nudger().nudge_from(&mut cfg.hooks);
            jobs
        });
        let receiver = Receiver::start(ctx, cfg).expect("start the receiver");
        let addr = receiver.local_addr().expect("an address");
        // Enough bodies for twenty minutes, made before the clock starts.
        let want = (rate * 1200.0) as usize;
        let mut bodies: Vec<String> = Vec::with_capacity(want);
        let mut out: Vec<Body> = Vec::new();
        while bodies.len() < want {
            out.clear();
            gen.episode(&mut out);
            bodies.extend(out.drain(..).map(|b| b.json));
        }
        let bodies = Arc::new(bodies);
        let next = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let t0 = Instant::now();
        let interval = Duration::from_secs_f64(1.0 / rate);
        let workers = (0..WORKERS)
            .map(|_| {
                let (bodies, next, stop) = (bodies.clone(), next.clone(), stop.clone());
                let (path, secret) = (path.to_owned(), secret.to_owned());
                std::thread::spawn(move || {
                    let mut samples = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let due = interval * i as u32;
                        let now = t0.elapsed();
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                        if stop.load(Ordering::Relaxed) || i as usize >= bodies.len() {
                            return samples;
                        }
                        let ok = post(addr, &path, &secret, &bodies[i as usize]);
                        samples.push((due, t0.elapsed() - due, ok));
                    }
                })
            })
            .collect();
        Load {
            t0,
            stop,
            workers,
            receiver,
            jobs,
        }
    }

    /// Now, from the start.
    pub fn offset(&self) -> Duration {
        self.t0.elapsed()
    }

    pub fn stop(self) -> Report {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for w in self.workers {
            all.extend(w.join().expect("a client thread"));
        }
        if let Some(jobs) = self.jobs {
            jobs.shutdown();
        }
        self.receiver.shutdown();
        Report(all)
    }
}

impl Report {
    fn between(&self, from: Duration, to: Duration) -> impl Iterator<Item = &Sample> {
        self.0.iter().filter(move |s| s.0 >= from && s.0 < to)
    }

    pub fn ok_between(&self, from: Duration, to: Duration) -> usize {
        self.between(from, to).filter(|s| s.2).count()
    }

    /// (webhooks, not 200, p50, p99, max ms) of those due in [from, to).
    pub fn stats(&self, from: Duration, to: Duration) -> (usize, usize, f64, f64, f64) {
        let mut l: Vec<Duration> = self.between(from, to).map(|s| s.1).collect();
        let bad = self.between(from, to).filter(|s| !s.2).count();
        if l.is_empty() {
            return (0, bad, 0.0, 0.0, 0.0);
        }
        l.sort();
        let at = |q: f64| l[((l.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
        (l.len(), bad, at(0.5), at(0.99), at(1.0))
    }
}

fn post(addr: SocketAddr, path: &str, secret: &str, body: &str) -> bool {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{t}.{body}").as_bytes());
    let sig = hex::encode(mac.finalize().into_bytes());
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)\r\n\
         Content-Type: application/json; charset=utf-8\r\nStripe-Signature: t={t},v1={sig}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_nodelay(true);
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut resp = Vec::with_capacity(256);
    let _ = s.read_to_end(&mut resp);
    resp.starts_with(b"HTTP/1.1 200")
}
