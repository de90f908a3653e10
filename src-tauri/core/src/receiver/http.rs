//! The receiver's HTTP side: connections in (the listener's or a [`super::Gate`]'s), limits
//! on each, and the one service that turns a request into an [`Answer`].
//!
//! Limits, each from the library that owns the layer where it exists:
//! - connections: a semaphore of `max_connections`; beyond it a short-lived 503 service for a
//!   few more ([`REFUSALS`]), beyond that the connection is closed unanswered;
//! - the head: hyper's `max_buf_size` (431) and `max_headers` (431), `header_read_timeout`
//!   with a [`TokioTimer`] (connection closed; it also bounds a kept-alive connection's idle
//!   time);
//! - the body: its declared length before reading (413), [`Limited`] while reading (413,
//!   chunked too), the request deadline (408); memory grows with the bytes received;
//! - writes: a client that stops reading is cut off after `read_timeout` (tokio-io-timeout).
//!
//! A connection is kept alive after a 200; after any refusal, and after a chunked request,
//! the answer says `Connection: close`.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE, TRANSFER_ENCODING};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{oneshot, Semaphore};
use tokio::time::Instant;
use tokio_io_timeout::TimeoutStream;

use super::handler::{self, Cached, Handler, Route};
use super::{Answer, DeliveryLog, Limits};
use crate::error::Error;
use crate::ingest::link::LinkerHandle;
use crate::ingest::StoreJob;
use crate::store::Db;
use crate::time::now_ms;

/// More headers than any webhook sender uses (Stripe sends about 10): 431 beyond.
const MAX_HEADERS: usize = 100;
/// Connections over the cap that still get a 503 (so that a sender sees why) before the
/// receiver starts closing them unanswered.
const REFUSALS: usize = 64;
/// How long an over-the-cap connection may take to send its head before it is closed.
const REFUSAL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

pub struct Server {
    handler: Arc<Handler>,
    db: Db,
    log: DeliveryLog,
    linker: LinkerHandle,
    /// Hears each new thin event (the Stripe job fetches its payload).
    on_thin_event: Option<crate::ingest::link::OnLinked>,
    limits: Limits,
    permits: Arc<Semaphore>,
    refusals: Arc<Semaphore>,
    /// `None` once shutting down: new connections are closed.
    graceful: Mutex<Option<GracefulShutdown>>,
}

impl Server {
    pub fn new(
        handler: Handler,
        db: Db,
        log: DeliveryLog,
        linker: LinkerHandle,
        on_thin_event: Option<crate::ingest::link::OnLinked>,
        limits: Limits,
    ) -> Server {
        Server {
            handler: Arc::new(handler),
            db,
            log,
            linker,
            on_thin_event,
            permits: Arc::new(Semaphore::new(limits.max_connections)),
            refusals: Arc::new(Semaphore::new(REFUSALS)),
            limits,
            graceful: Mutex::new(Some(GracefulShutdown::new())),
        }
    }

    pub(crate) fn forget_endpoints(&self) {
        self.handler.forget_endpoints();
    }

    /// Accepts connections until the task is dropped with the runtime.
    pub async fn accept(self: Arc<Self>, listener: tokio::net::TcpListener) {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    self.admit(stream);
                }
                Err(e) => {
                    // Out of file descriptors, or a connection reset before accept: wait a
                    // moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// Serves `io` within the connection cap (call inside the receiver's runtime).
    pub(crate) fn admit<I>(self: &Arc<Self>, io: I)
    where
        I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let watcher = match self.graceful.lock() {
            Ok(g) => match g.as_ref() {
                Some(g) => g.watcher(),
                None => return,
            },
            Err(_) => return,
        };
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            let server = self.clone();
            tokio::spawn(async move {
                server.serve(io, watcher).await;
                drop(permit);
            });
        } else if let Ok(permit) = self.refusals.clone().try_acquire_owned() {
            let server = self.clone();
            tokio::spawn(async move {
                server.refuse(io).await;
                drop(permit);
            });
        }
    }

    /// Asks every connection to finish its request in flight and close, and waits for them.
    pub async fn shutdown(&self) {
        let graceful = self.graceful.lock().ok().and_then(|mut g| g.take());
        if let Some(g) = graceful {
            g.shutdown().await;
        }
    }

    fn http1(&self) -> http1::Builder {
        let mut b = http1::Builder::new();
        b.timer(TokioTimer::new())
            .header_read_timeout(self.limits.read_timeout)
            .max_buf_size(self.limits.max_head_bytes.max(8192))
            .max_headers(MAX_HEADERS);
        b
    }

    fn with_write_timeout<I: AsyncRead + AsyncWrite>(
        &self,
        io: I,
    ) -> TokioIo<std::pin::Pin<Box<TimeoutStream<I>>>> {
        let mut io = TimeoutStream::new(io);
        io.set_write_timeout(Some(self.limits.read_timeout));
        TokioIo::new(Box::pin(io))
    }

    async fn serve<I>(self: Arc<Self>, io: I, watcher: Watcher)
    where
        I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let served = Arc::new(AtomicUsize::new(0));
        let service = {
            let (server, served) = (self.clone(), served.clone());
            service_fn(move |rq| {
                let server = server.clone();
                served.fetch_add(1, Ordering::Relaxed);
                async move { Ok::<_, Infallible>(server.handle(rq).await) }
            })
        };
        let conn = self
            .http1()
            .serve_connection(self.with_write_timeout(io), service);
        if let Err(e) = watcher.watch(conn).await {
            self.connection_failed(&e, served.load(Ordering::Relaxed));
        }
    }

    /// Over the connection cap: a 503 for whatever the connection asks.
    async fn refuse<I>(&self, io: I)
    where
        I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let log = self.log.clone();
        let service = service_fn(move |_rq| {
            let answer = Answer::new(503, "saturated", "too many open connections");
            log.record(&answer);
            async move { Ok::<_, Infallible>(response(&answer, true)) }
        });
        let mut b = self.http1();
        b.header_read_timeout(REFUSAL_TIMEOUT).keep_alive(false);
        let _ = b
            .serve_connection(self.with_write_timeout(io), service)
            .await;
    }

    /// Records what hyper refused by itself (it answered 400 or 431, or closed on a timeout).
    fn connection_failed(&self, e: &hyper::Error, served: usize) {
        let answer = if e.is_parse_too_large() {
            Answer::new(
                431,
                "headers_too_large",
                "the request headers are over 16 KiB or 100 fields",
            )
        } else if e.is_parse() {
            handler::bad_request("the request is not valid HTTP/1.1")
        } else if e.is_timeout() && served == 0 {
            // A kept-alive connection that goes quiet after its requests is not a failure.
            Answer::new(
                408,
                "timeout",
                "the request headers did not arrive in time; the connection was closed",
            )
        } else {
            tracing::debug!(error = %e, "a connection ended early");
            return;
        };
        self.log.record(&answer);
    }

    async fn handle(&self, rq: Request<Incoming>) -> Response<Full<Bytes>> {
        let received_at = now_ms();
        let chunked = rq.headers().contains_key(TRANSFER_ENCODING);
        let answer = self.answer(rq, received_at).await;
        self.log.record(&answer);
        response(&answer, chunked || answer.status != 200)
    }

    async fn answer(&self, rq: Request<Incoming>, received_at: i64) -> Answer {
        let (head, body) = rq.into_parts();
        let route = match handler::framing(&head.headers)
            .and_then(|()| handler::route(&head.method, &head.uri))
        {
            Ok(r) => r,
            Err(a) => return a,
        };
        let cached = match self.endpoint(&route).await {
            Some(c) => c,
            None => return handler::unauthorized(),
        };
        let ep = cached.endpoint();
        if let Err(a) = handler::authorise(&route, &ep) {
            return a;
        }
        let with_processor = |mut a: Answer| {
            a.processor_id = Some(ep.processor_id);
            a
        };
        let deadline = Instant::now() + self.limits.request_deadline;
        let body = match read_body(body, self.limits.max_body_bytes, deadline).await {
            Ok(b) => b,
            Err(a) => return with_processor(a),
        };
        let row = match handler::verify(&ep, &head.headers, &body, received_at) {
            Ok(row) => row,
            Err(refused) if refused.stale_secret => {
                // Another process may have replaced the secret: re-read it (rate-limited).
                let fresh = self.blocking(move |h| h.refresh(&route.endpoint_id, &cached));
                match fresh.await.flatten() {
                    Some(fresh) => match handler::verify(&fresh, &head.headers, &body, received_at)
                    {
                        Ok(row) => row,
                        Err(r) => return with_processor(r.answer),
                    },
                    None => return with_processor(refused.answer),
                }
            }
            Err(refused) => return with_processor(refused.answer),
        };
        with_processor(self.store(row).await)
    }

    /// The route's endpoint, from the cache or (off the async threads) the database.
    async fn endpoint(&self, route: &Route) -> Option<Arc<Cached>> {
        if let Some(c) = self.handler.cached(&route.endpoint_id) {
            return Some(c);
        }
        let id = route.endpoint_id.clone();
        self.blocking(move |h| h.load(&id)).await.flatten()
    }

    /// Runs `f` on the runtime's blocking threads (database and keychain reads).
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Handler) -> T + Send + 'static,
    ) -> Option<T> {
        let handler = self.handler.clone();
        tokio::task::spawn_blocking(move || f(&handler)).await.ok()
    }

    /// Hands the row to the writer and waits for its commit.
    async fn store(&self, row: crate::store::events::NewEvent) -> Answer {
        let event_id = row.event_id.clone();
        let thin = row.status == crate::store::events::status::AWAITING_FETCH;
        let (tx, rx) = oneshot::channel();
        let job = StoreJob::new(row, move |outcome| {
            let _ = tx.send(outcome);
        });
        if let Err(job) = self
            .db
            .try_submit(job.with_delivery_log().telling(self.linker.clone()))
        {
            job.finish(Err(Error::Unavailable("write queue full".into())));
        }
        let mut answer = match rx.await {
            Ok(Ok(o)) => Answer {
                status: 200,
                outcome: o.as_str(),
                reason: None,
                event_id: None,
                processor_id: None,
                logged: true,
            },
            Ok(Err(Error::Unavailable(_))) => Answer::new(
                503,
                "saturated",
                "the receiver is saturated; Stripe will retry",
            ),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "storing an event failed");
                Answer::new(500, "store_failed", "the event could not be stored")
            }
            Err(_) => Answer::new(503, "unavailable", "the receiver is shutting down"),
        };
        answer.event_id = Some(event_id);
        if let (true, "accepted", Some(hook)) = (thin, answer.outcome, &self.on_thin_event) {
            hook(1);
        }
        answer
    }
}

fn too_large() -> Answer {
    Answer::new(413, "payload_too_large", "the body is over 1 MiB")
}

/// Reads the body, at most `max` bytes (413) before `deadline` (408). The buffer grows with
/// the bytes received, never past the declared length or `max`.
async fn read_body(body: Incoming, max: usize, deadline: Instant) -> Result<Vec<u8>, Answer> {
    use hyper::body::Body as _;
    let hint = body.size_hint();
    if hint.lower() > max as u64 {
        return Err(too_large());
    }
    let cap = hint.upper().map_or(max, |n| (n as usize).min(max));
    let mut limited = Limited::new(body, max);
    let mut out: Vec<u8> = Vec::new();
    loop {
        let frame = match tokio::time::timeout_at(deadline, limited.frame()).await {
            Err(_) => {
                return Err(Answer::new(
                    408,
                    "timeout",
                    "the request body did not arrive in time",
                ))
            }
            Ok(None) => return Ok(out),
            Ok(Some(Err(e))) if e.downcast_ref::<LengthLimitError>().is_some() => {
                return Err(too_large())
            }
            Ok(Some(Err(_))) => return Err(handler::bad_request(
                "the body could not be read (malformed chunked encoding, or the connection closed)",
            )),
            Ok(Some(Ok(frame))) => frame,
        };
        // Trailers carry nothing the receiver uses.
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let need = out.len() + data.len();
        if need > out.capacity() {
            let want = need.max(out.capacity() * 2).min(cap.max(need));
            out.reserve_exact(want - out.len());
        }
        out.extend_from_slice(&data);
    }
}

fn response(a: &Answer, close: bool) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(a.json())));
    *r.status_mut() = StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if close {
        h.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    r
}
