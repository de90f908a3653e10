//! The webhook receiver: one hyper service on a tokio runtime of its own, reached two ways —
//! a loopback TCP listener (`serve`, the desktop app, reverse proxies, the Stripe CLI) and the
//! ngrok tunnel's connections, served in-process through a [`Gate`]. Per connection
//! [`http`] applies the limits (hyper's head cap, header timeout, a body cap and deadline, a
//! connection cap); per request [`handler`] routes, checks the token and the signature, parses
//! and minimises; the event becomes a write job, and its 200 is sent only after the writer
//! thread committed it (group commit). The same receiver runs under `serve` and inside the
//! desktop app (docs/adr/0004-receiver-on-hyper.md).

mod handler;
mod http;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::ingest::link::Linker;
use crate::store::deliveries::{self, DeliveryRow};
use crate::store::Db;
use crate::time::now_ms;

/// What one connection and one request may cost (CONTRACT.md, "Receiver").
#[derive(Debug, Clone)]
pub struct Limits {
    /// The request head (request line and headers): 431 beyond. hyper's read buffer.
    pub max_head_bytes: usize,
    pub max_body_bytes: usize,
    /// Connections served at once; beyond, a short 503 (or, past a second small cap, the
    /// connection is closed unanswered).
    pub max_connections: usize,
    /// The longest a request head may take to arrive (also how long a kept-alive connection
    /// may sit idle), and the longest a write to the client may block.
    pub read_timeout: Duration,
    /// The longest a request's body may take to arrive once its head is in (408).
    pub request_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: 16 * 1024,
            max_body_bytes: 1024 * 1024,
            max_connections: 512,
            read_timeout: Duration::from_secs(10),
            request_deadline: Duration::from_secs(30),
        }
    }
}

#[derive(Clone)]
pub struct Config {
    /// The loopback listener; `None` serves only what a [`Gate`] hands in (the tunnel).
    pub listen: Option<SocketAddr>,
    pub limits: Limits,
    /// The runtime's worker threads (HTTP, HMAC, JSON: CPU-bound and brief).
    pub workers: usize,
    pub hooks: Hooks,
    pub deliveries: DeliveryCaps,
}

impl Config {
    pub fn new(listen: SocketAddr) -> Config {
        Config {
            listen: Some(listen),
            limits: Limits::default(),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get().min(4)),
            hooks: Hooks::default(),
            deliveries: DeliveryCaps::default(),
        }
    }

    /// A receiver with no listener of its own: its requests come through [`Receiver::gate`].
    pub fn gate_only() -> Config {
        Config {
            listen: None,
            ..Config::new(SocketAddr::from(([127, 0, 0, 1], 0)))
        }
    }
}

/// Callbacks for the desktop app (live updates, notifications). Called on receiver threads:
/// keep them short.
#[derive(Clone, Default)]
pub struct Hooks {
    /// Events were stored and linked: how many since the last call (at most one call per
    /// 100 ms, from the linker's thread).
    pub on_linked: Option<crate::ingest::link::OnLinked>,
    /// A request was refused (status ≥ 400).
    pub on_rejected: Option<OnRejected>,
    /// Linking left events waiting for their customer (`unlinked`): how many. The Stripe job
    /// looks the customers up.
    pub on_unlinked: Option<crate::ingest::link::OnLinked>,
    /// A new thin event was committed: the Stripe job fetches its payload.
    pub on_thin_event: Option<crate::ingest::link::OnLinked>,
}

pub(crate) type OnRejected = Arc<dyn Fn(&Answer) + Send + Sync>;

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
        // Static outcomes and plain strings: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"outcome":"error"}"#.into())
    }
}

/// Records answers in the deliveries log, best effort (dropped when the writer is saturated),
/// pruning it to a size and age cap now and then.
#[derive(Clone)]
struct DeliveryLog {
    db: Db,
    count: Arc<AtomicU64>,
    on_rejected: Option<OnRejected>,
    caps: DeliveryCaps,
}

/// How much of the deliveries log is kept: deliveries to known endpoints, and apart from them
/// requests for no known endpoint (scanners, junk), so that junk traffic cannot push the
/// record of real deliveries out.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryCaps {
    pub kept: i64,
    pub unknown_kept: i64,
}

impl Default for DeliveryCaps {
    fn default() -> Self {
        DeliveryCaps {
            kept: 20_000,
            unknown_kept: 2_000,
        }
    }
}
/// Deliveries older than this are removed from the log.
pub(crate) const DELIVERIES_MAX_AGE_MS: i64 = 30 * 24 * 3600 * 1000;

impl DeliveryLog {
    fn record(&self, a: &Answer) {
        if let (Some(hook), true) = (&self.on_rejected, a.status >= 400) {
            hook(a);
        }
        let every = self.caps.unknown_kept.clamp(1, 1000) as u64;
        let prune = self
            .count
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(every);
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
        let caps = self.caps;
        self.db.write_detached(move |c| {
            if let Some(row) = &row {
                deliveries::insert(c, row)?;
            }
            if prune {
                let oldest = now_ms() - DELIVERIES_MAX_AGE_MS;
                deliveries::prune(c, caps.kept, caps.unknown_kept, oldest)?;
            }
            Ok(())
        });
    }
}

/// Hands connections from elsewhere (the ngrok tunnel) to the receiver's service, under the
/// same limits and connection cap as the listener's. Cheap to clone.
#[derive(Clone)]
pub struct Gate {
    server: Arc<http::Server>,
    runtime: tokio::runtime::Handle,
}

impl Gate {
    /// Serves one connection (any byte stream: a TCP socket, an ngrok tunnel connection, an
    /// in-memory duplex in tests) on the receiver's runtime.
    pub fn serve<I>(&self, io: I)
    where
        I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let _inside = self.runtime.enter();
        self.server.admit(io);
    }
}

/// Whether something accepts connections on the loopback `port` (the health check: a
/// connection opened and closed without a request, so no delivery is logged).
pub fn is_listening(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500)).is_ok()
}

pub struct Receiver {
    gate: Gate,
    addr: Option<SocketAddr>,
    runtime: Option<tokio::runtime::Runtime>,
    linker: Option<Linker>,
}

impl Receiver {
    pub fn start(ctx: &Context, cfg: Config) -> Result<Receiver> {
        let io = |e: std::io::Error| Error::Io(format!("cannot start the receiver: {e}"));
        let listener = match cfg.listen {
            Some(addr) => {
                let l = std::net::TcpListener::bind(addr).map_err(|e| {
                    Error::Io(format!(
                        "cannot listen on {addr}: {e} (is another receiver running? pick another port with --listen)"
                    ))
                })?;
                l.set_nonblocking(true).map_err(io)?;
                Some(l)
            }
            None => None,
        };
        let addr = match &listener {
            Some(l) => Some(l.local_addr().map_err(io)?),
            None => None,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cfg.workers.max(1))
            .max_blocking_threads(4)
            .thread_name("receiver")
            .enable_all()
            .build()
            .map_err(io)?;
        let linker = Linker::start(
            ctx.db.clone(),
            cfg.hooks.on_linked.clone(),
            cfg.hooks.on_unlinked.clone(),
        );
        let log = DeliveryLog {
            db: ctx.db.clone(),
            count: Arc::new(AtomicU64::new(0)),
            on_rejected: cfg.hooks.on_rejected.clone(),
            caps: cfg.deliveries,
        };
        let server = Arc::new(http::Server::new(
            handler::Handler::new(ctx.clone()),
            ctx.db.clone(),
            log,
            linker.handle(),
            cfg.hooks.on_thin_event.clone(),
            cfg.limits,
        ));
        if let Some(l) = listener {
            let _guard = runtime.enter();
            let l = tokio::net::TcpListener::from_std(l).map_err(io)?;
            runtime.spawn(server.clone().accept(l));
        }
        if let Some(a) = addr {
            tracing::info!(addr = %a, "receiver listening");
        }
        Ok(Receiver {
            gate: Gate {
                server,
                runtime: runtime.handle().clone(),
            },
            addr,
            runtime: Some(runtime),
            linker: Some(linker),
        })
    }

    /// The loopback listener's address (`None` for a gate-only receiver).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// Where other transports (the tunnel) hand their connections in.
    pub fn gate(&self) -> Gate {
        self.gate.clone()
    }

    /// Forgets cached endpoints: the next request re-reads them (a secret changed).
    pub fn reload_endpoints(&self) {
        self.gate.server.forget_endpoints();
    }

    /// Stops accepting, lets requests in flight finish (their events are committed and
    /// answered, within 10 s), then stops the runtime and finishes linking.
    pub fn shutdown(mut self) {
        if let Some(rt) = self.runtime.take() {
            let server = self.gate.server.clone();
            // On a thread of its own: the caller may itself be on an async runtime's thread,
            // where blocking on another runtime is not allowed.
            std::thread::scope(|s| {
                s.spawn(move || {
                    rt.block_on(async move {
                        let drained = server.shutdown();
                        let _ = tokio::time::timeout(Duration::from_secs(10), drained).await;
                    });
                    rt.shutdown_timeout(Duration::from_secs(1));
                });
            });
        }
        drop(self.linker.take());
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
