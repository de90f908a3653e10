//! The webhook receiver: [`edge`] owns the public socket and its limits; tiny_http, behind
//! it on a private socket, parses requests for a pool of [`handler`] workers; each verified
//! event becomes a write job, and its 200 is sent by the responder thread only after the
//! writer thread committed it (group commit). The same receiver runs under `serve` and
//! inside the desktop app.

pub mod edge;
mod handler;
mod internal;

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::ingest::link::Linker;
use crate::store::deliveries::{self, DeliveryRow};
use crate::store::Db;
use crate::time::now_ms;
pub use edge::Limits;

#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub limits: Limits,
    /// Threads verifying requests (HMAC, JSON): CPU-bound and brief.
    pub workers: usize,
    pub hooks: Hooks,
}

impl Config {
    pub fn new(listen: SocketAddr) -> Config {
        Config {
            listen,
            limits: Limits::default(),
            workers: 4,
            hooks: Hooks::default(),
        }
    }
}

/// Callbacks for the desktop app (live updates, notifications). Called on receiver threads:
/// keep them short.
#[derive(Clone, Default)]
pub struct Hooks {
    /// Events were stored and linked: how many.
    pub on_linked: Option<crate::ingest::link::OnLinked>,
    /// A request was refused (status ≥ 400).
    pub on_rejected: Option<OnRejected>,
}

pub type OnRejected = Arc<dyn Fn(&Answer) + Send + Sync>;

/// What the receiver answered: the HTTP status and the JSON body `{"outcome", "reason"}`.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    #[serde(skip)]
    pub status: u16,
    pub outcome: &'static str,
    pub reason: Option<String>,
    #[serde(skip)]
    pub event_id: Option<String>,
    #[serde(skip)]
    pub processor_id: Option<i64>,
    /// Already in the deliveries log (recorded with its event, in one transaction).
    #[serde(skip)]
    pub logged: bool,
}

impl Answer {
    pub fn new(status: u16, outcome: &'static str, reason: impl Into<String>) -> Answer {
        Answer {
            status,
            outcome,
            reason: Some(reason.into()),
            event_id: None,
            processor_id: None,
            logged: false,
        }
    }

    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("an answer serialises")
    }
}

/// Records answers in the deliveries log, best effort (dropped when the writer is saturated),
/// pruning it to a size and age cap now and then.
#[derive(Clone)]
struct DeliveryLog {
    db: Db,
    count: Arc<AtomicU64>,
    on_rejected: Option<OnRejected>,
}

const DELIVERIES_KEPT: i64 = 20_000;
const DELIVERIES_MAX_AGE_MS: i64 = 30 * 24 * 3600 * 1000;

impl DeliveryLog {
    fn record(&self, a: &Answer) {
        if let (Some(hook), true) = (&self.on_rejected, a.status >= 400) {
            hook(a);
        }
        let prune = self.count.fetch_add(1, Ordering::Relaxed) % 1000 == 0;
        if a.logged && !prune {
            return;
        }
        let row = (!a.logged).then(|| DeliveryRow {
            received_at: now_ms(),
            status_code: a.status,
            outcome: a.outcome.to_owned(),
            reason: a.reason.clone(),
            event_id: a.event_id.clone(),
            processor_id: a.processor_id,
        });
        self.db.write_detached(move |c| {
            if let Some(row) = &row {
                deliveries::insert(c, row)?;
            }
            if prune {
                deliveries::prune(c, DELIVERIES_KEPT, now_ms() - DELIVERIES_MAX_AGE_MS)?;
            }
            Ok(())
        });
    }
}

/// Lets the calling thread, and the threads it starts afterwards (they inherit it), give way
/// to the database writer. The writer is the receiver's only serial stage: every request
/// waits for its commit, and with more runnable threads than cores, request threads waking
/// up kept preempting it (2,100–2,700 times a second at 32 connections; ~350 since). On
/// Linux this is `SCHED_BATCH`: the same share of the CPU, but its wake-ups do not preempt a
/// running thread. Elsewhere it does nothing.
pub(crate) fn yield_to_writer() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 is the calling thread; `param` is a valid, initialised sched_param
        // (SCHED_BATCH requires priority 0) that the call only reads.
        let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
        if rc != 0 {
            tracing::debug!("SCHED_BATCH refused; receiver threads keep the default policy");
        }
    }
}

pub struct Receiver {
    edge: edge::Edge,
    handler: Arc<handler::Handler>,
    server: Arc<tiny_http::Server>,
    workers: Vec<JoinHandle<()>>,
    responder: Option<JoinHandle<()>>,
    linker: Option<Linker>,
    _socket_dir: internal::SocketDir,
}

impl Receiver {
    pub fn start(ctx: &Context, cfg: Config) -> Result<Receiver> {
        let listener = TcpListener::bind(cfg.listen).map_err(|e| {
            Error::Io(format!(
                "cannot listen on {}: {e} (is another receiver running? pick another port with --listen)",
                cfg.listen
            ))
        })?;
        let io = |e: std::io::Error| Error::Io(format!("cannot start the receiver: {e}"));
        // tiny_http's threads are started by its accept thread, which inherits this priority.
        let (server, inner_addr, socket_dir) = std::thread::scope(|s| {
            s.spawn(|| {
                yield_to_writer();
                internal::bind()
            })
            .join()
            .expect("binding the private socket does not panic")
        })
        .map_err(io)?;
        let server = Arc::new(server);
        let mut token = [0u8; 16];
        getrandom::fill(&mut token).expect("the OS random number generator is available");
        let edge_token = Arc::new(hex::encode(token));
        let log = DeliveryLog {
            db: ctx.db.clone(),
            count: Arc::new(AtomicU64::new(0)),
            on_rejected: cfg.hooks.on_rejected.clone(),
        };
        let linker = Linker::start(ctx.db.clone(), cfg.hooks.on_linked.clone());

        // Answers leave through one thread, after their event was committed.
        let (reply_tx, reply_rx) = mpsc::channel::<(tiny_http::Request, Answer)>();
        let responder = {
            let log = log.clone();
            let nudge = linker.handle();
            std::thread::Builder::new()
                .name("responder".into())
                .spawn(move || {
                    yield_to_writer();
                    for (rq, answer) in reply_rx {
                        handler::respond(rq, &answer);
                        if answer.outcome == "accepted" {
                            nudge.nudge();
                        }
                        log.record(&answer);
                    }
                })
                .map_err(io)?
        };

        let handler = Arc::new(handler::Handler::new(
            ctx.clone(),
            edge_token.clone(),
            reply_tx,
            cfg.limits.max_body_bytes,
        ));
        let workers = (0..cfg.workers.max(1))
            .map(|i| {
                let server = server.clone();
                let handler = handler.clone();
                std::thread::Builder::new()
                    .name(format!("receiver-{i}"))
                    .spawn(move || {
                        yield_to_writer();
                        while let Ok(rq) = server.recv() {
                            handler.handle(rq);
                        }
                    })
                    .map_err(io)
            })
            .collect::<Result<Vec<_>>>()?;

        let on_reject: edge::OnReject = Arc::new(move |a: &Answer| log.record(a));
        let edge = edge::Edge::start(listener, cfg.limits, inner_addr, edge_token, on_reject)
            .map_err(io)?;
        tracing::info!(addr = %edge.local_addr(), "receiver listening");
        Ok(Receiver {
            edge,
            handler,
            server,
            workers,
            responder: Some(responder),
            linker: Some(linker),
            _socket_dir: socket_dir,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.edge.local_addr()
    }

    /// Forgets cached endpoints: the next request re-reads them (a secret changed).
    pub fn reload_endpoints(&self) {
        self.handler.forget_endpoints();
    }

    /// Stops accepting, lets requests in flight finish (their events are committed and
    /// answered), then stops the workers and finishes linking.
    pub fn shutdown(mut self) {
        self.edge.stop(Duration::from_secs(10));
        for _ in &self.workers {
            self.server.unblock();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        // The workers and the handler held the last senders of replies: the responder ends
        // once it has answered everything queued.
        drop(self.handler);
        if let Some(r) = self.responder.take() {
            let _ = r.join();
        }
        drop(self.linker.take());
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// The scheduling policy of each thread of this process, by thread name.
    fn policies() -> Vec<(String, i32)> {
        let mut out = Vec::new();
        for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
            let Ok(tid) = task.file_name().to_string_lossy().parse::<libc::pid_t>() else {
                continue;
            };
            let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            // SAFETY: only reads the policy of a thread id (a gone thread gives -1).
            let policy = unsafe { libc::sched_getscheduler(tid) };
            if policy >= 0 {
                out.push((name.trim().to_owned(), policy));
            }
        }
        out
    }

    #[test]
    fn request_threads_give_way_to_the_database_writer() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::open(dir.path()).unwrap();
        let rx = Receiver::start(&ctx, Config::new("127.0.0.1:0".parse().unwrap())).unwrap();
        // One request, so that a connection thread of the edge and one of tiny_http exist.
        let mut s = std::net::TcpStream::connect(rx.local_addr()).unwrap();
        s.write_all(b"POST /webhooks/stripe/0 HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");

        let threads = policies();
        let named =
            |prefix: &'static str| threads.iter().filter(move |(n, _)| n.starts_with(prefix));
        for prefix in ["edge-accept", "edge-conn", "receiver-", "responder"] {
            assert!(named(prefix).count() > 0, "no {prefix} thread");
            for (name, policy) in named(prefix) {
                assert_eq!(*policy, libc::SCHED_BATCH, "{name}");
            }
        }
        assert!(named("db-writer").count() > 0);
        for (name, policy) in named("db-writer") {
            assert_eq!(*policy, libc::SCHED_OTHER, "{name}");
        }
        rx.shutdown();
    }
}
