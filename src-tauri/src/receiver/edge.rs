//! The edge: the only code that touches the public socket. tiny_http has no limits of its
//! own (no header cap, no body cap, no timeouts, a thread per connection), so nothing reaches
//! it before passing here. Per connection the edge
//!
//! - counts it against a cap on concurrent connections (503 beyond),
//! - reads the request head into a fixed 16 KiB buffer (431 beyond; a 200 MiB header line
//!   costs 16 KiB), with a per-read timeout and a whole-request deadline (408),
//! - reads the body, `Content-Length` or chunked, up to 1 MiB (413 beyond; a declared length
//!   over the cap is refused before reading), refusing ambiguous framing (400),
//! - forwards the now bounded request to tiny_http on a private socket with
//!   `Content-Length` framing (over a kept-alive connection: [`Links`]), and relays the answer.
//!
//! One request per connection: the edge answers `Connection: close`. Connections are served by
//! a pool of threads that grows on demand up to the connection cap and is reused, so a request
//! does not cost a thread.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::internal::{InternalAddr, Links};
use super::Answer;

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_head_bytes: usize,
    pub max_body_bytes: usize,
    pub max_connections: usize,
    /// The longest a single read may wait (slow clients).
    pub read_timeout: Duration,
    /// The longest a whole request may take to arrive (slowloris).
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

/// The header the edge adds so the inner server knows a request came through it.
pub const EDGE_HEADER: &str = "X-Privacy-Desk-Edge";
const MAX_HEADERS: usize = 100;
/// Requests inside the receiver at once (each on its own connection to tiny_http, served by
/// one of its threads); further requests wait at the edge, up to their read timeout.
const MAX_INNER_LINKS: usize = 64;
/// Framing overhead allowed on top of the body cap for chunked bodies.
const MAX_CHUNK_OVERHEAD: usize = 256 * 1024;

pub struct Edge {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    active: Arc<AtomicUsize>,
    accept: Option<JoinHandle<()>>,
}

/// Called for every answer the edge gives itself (so that the deliveries log sees them).
pub type OnReject = Arc<dyn Fn(&Answer) + Send + Sync>;

impl Edge {
    pub fn start(
        listener: TcpListener,
        limits: Limits,
        inner: InternalAddr,
        edge_token: Arc<String>,
        on_reject: OnReject,
    ) -> io::Result<Edge> {
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let active = Arc::new(AtomicUsize::new(0));
        let (stop2, active2) = (stop.clone(), active.clone());
        let accept = std::thread::Builder::new()
            .name("edge-accept".into())
            .spawn(move || {
                // Connection threads are started here and inherit it.
                super::yield_to_writer();
                let shared = Arc::new(Shared {
                    links: Links::new(inner, MAX_INNER_LINKS),
                    limits,
                    edge_token,
                    on_reject,
                });
                let pool = Pool::new(shared.clone(), IDLE_THREAD_LIFETIME);
                for conn in listener.incoming() {
                    if stop2.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = conn else { continue };
                    if active2.load(Ordering::SeqCst) >= shared.limits.max_connections {
                        let r = Answer::new(503, "saturated", "too many open connections");
                        refuse(stream, &r);
                        (shared.on_reject)(&r);
                        continue;
                    }
                    active2.fetch_add(1, Ordering::SeqCst);
                    pool.serve(stream, ActiveGuard(active2.clone()));
                }
                // Dropping the pool closes its queue: idle threads end, busy ones finish first.
            })?;
        Ok(Edge {
            addr,
            stop,
            active,
            accept: Some(accept),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, then waits (up to `grace`) for connections in flight to finish.
    pub fn stop(&mut self, grace: Duration) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&wake_addr(self.addr), Duration::from_secs(1));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        let until = Instant::now() + grace;
        while self.active.load(Ordering::SeqCst) > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn wake_addr(addr: SocketAddr) -> SocketAddr {
    let mut a = addr;
    if a.ip().is_unspecified() {
        a.set_ip(match a {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    a
}

struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Shared {
    limits: Limits,
    links: Links,
    edge_token: Arc<String>,
    on_reject: OnReject,
}

type Job = (TcpStream, ActiveGuard);

/// The connection threads: one per connection being served, reused afterwards. A connection
/// goes to an idle thread, or to a new one when none is idle (the accept loop's connection cap
/// bounds how many there can be). Each idle thread waits on its own [`Slot`], so handing over
/// a connection wakes exactly that thread (a single queue behind a `Mutex` also woke a second
/// thread per connection, only for it to go back to sleep).
struct Pool {
    shared: Arc<Shared>,
    idle: Arc<Mutex<Idle>>,
    /// How long an idle thread waits for work before it ends.
    lifetime: Duration,
}

#[derive(Default)]
struct Idle {
    /// Idle threads' slots, the most recently idle last (its stack and caches are warm).
    slots: Vec<Arc<Slot>>,
    /// The pool is gone: threads end instead of waiting for work.
    closed: bool,
}

#[derive(Default)]
struct Slot {
    job: Mutex<SlotState>,
    ready: Condvar,
}

#[derive(Default)]
enum SlotState {
    #[default]
    Empty,
    Job(Job),
    /// The pool is gone: end the thread.
    Closed,
}

impl Pool {
    fn new(shared: Arc<Shared>, lifetime: Duration) -> Pool {
        Pool {
            shared,
            idle: Arc::new(Mutex::new(Idle::default())),
            lifetime,
        }
    }

    fn serve(&self, stream: TcpStream, guard: ActiveGuard) {
        let slot = self.idle.lock().expect("idle threads").slots.pop();
        match slot {
            Some(slot) => slot.put(SlotState::Job((stream, guard))),
            None => self.spawn((stream, guard)),
        }
    }

    fn spawn(&self, first: Job) {
        let (shared, idle, lifetime) = (self.shared.clone(), self.idle.clone(), self.lifetime);
        let spawned = std::thread::Builder::new()
            .name("edge-conn".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                // The request head is read into this buffer, reused for every connection.
                let mut head = vec![0u8; shared.limits.max_head_bytes];
                let slot = Arc::new(Slot::default());
                let mut job = Some(first);
                while let Some((stream, guard)) = job.take() {
                    serve_connection(stream, &mut head, &shared);
                    drop(guard);
                    job = slot.next_job(&idle, lifetime);
                }
            });
        if spawned.is_err() {
            tracing::warn!("cannot spawn a connection thread; connection dropped");
        }
    }
}

impl Drop for Pool {
    /// Idle threads end; busy ones finish their connection first.
    fn drop(&mut self) {
        let slots = {
            let mut idle = self.idle.lock().expect("idle threads");
            idle.closed = true;
            std::mem::take(&mut idle.slots)
        };
        for slot in slots {
            slot.put(SlotState::Closed);
        }
    }
}

/// How long an idle connection thread waits for work before it ends (after a burst).
const IDLE_THREAD_LIFETIME: Duration = Duration::from_secs(60);

impl Slot {
    fn put(&self, state: SlotState) {
        *self.job.lock().expect("slot") = state;
        self.ready.notify_one();
    }

    /// Offers the thread as idle and waits for its next connection; `None` ends the thread:
    /// the pool closed, or it idled for `lifetime`.
    fn next_job(self: &Arc<Slot>, idle: &Mutex<Idle>, lifetime: Duration) -> Option<Job> {
        {
            let mut idle = idle.lock().expect("idle threads");
            if idle.closed {
                return None;
            }
            idle.slots.push(self.clone());
        }
        let mut state = self.job.lock().expect("slot");
        loop {
            match std::mem::take(&mut *state) {
                SlotState::Job(job) => return Some(job),
                SlotState::Closed => return None,
                SlotState::Empty => {}
            }
            let (next, waited) = self.ready.wait_timeout(state, lifetime).expect("slot");
            state = next;
            if waited.timed_out() && matches!(*state, SlotState::Empty) {
                // Leave only if no connection is being handed over (then the slot is no
                // longer in the idle list and the connection is on its way: wait for it).
                // (Locks: slot then list here, never both elsewhere.)
                let mut idle = idle.lock().expect("idle threads");
                if let Some(i) = idle.slots.iter().position(|s| Arc::ptr_eq(s, self)) {
                    idle.slots.remove(i);
                    return None;
                }
            }
        }
    }
}

fn serve_connection(mut stream: TcpStream, head: &mut [u8], shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(shared.limits.read_timeout));
    match read_request(&mut stream, head, &shared.limits) {
        Ok(req) => {
            if let Err(e) = forward(&mut stream, &req, shared) {
                tracing::warn!(error = %e, "forwarding a request to the inner server failed");
                let r = if e.kind() == io::ErrorKind::TimedOut {
                    Answer::new(503, "saturated", "the receiver is busy; Stripe will retry")
                } else {
                    Answer::new(503, "unavailable", "the receiver is shutting down")
                };
                respond(&mut stream, &r);
                (shared.on_reject)(&r);
            }
        }
        Err(ReadError::Closed) => {}
        Err(ReadError::Reject(r)) => {
            respond(&mut stream, &r);
            (shared.on_reject)(&r);
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// A complete, bounded request.
struct Request {
    head: Vec<u8>,
    body: Vec<u8>,
}

enum ReadError {
    /// The peer went away before sending a request: nothing to answer.
    Closed,
    Reject(Answer),
}

impl From<Answer> for ReadError {
    fn from(r: Answer) -> Self {
        ReadError::Reject(r)
    }
}

/// Reads with the per-read timeout, never past the request deadline.
struct Timed<'a> {
    stream: &'a mut TcpStream,
    deadline: Instant,
    read_timeout: Duration,
    /// The socket's read timeout as last set (a system call each time it changes).
    timeout_set: Option<Duration>,
}

impl Timed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ReadError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timeout().into());
        }
        let wait = left.min(self.read_timeout);
        if self.timeout_set != Some(wait) {
            // Near the deadline the wait shrinks with every read; far from it, it is always
            // the per-read timeout, set once.
            let _ = self.stream.set_read_timeout(Some(wait));
            self.timeout_set = Some(wait);
        }
        match self.stream.read(buf) {
            Ok(n) => Ok(n),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(timeout().into())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(self.read(buf)?),
            Err(_) => Err(ReadError::Closed),
        }
    }
}

fn timeout() -> Answer {
    Answer::new(408, "timeout", "the request did not arrive in time")
}

/// Reads one request; its head into `buf` (the head cap: a longer head is refused).
fn read_request(
    stream: &mut TcpStream,
    buf: &mut [u8],
    limits: &Limits,
) -> Result<Request, ReadError> {
    let mut io = Timed {
        stream,
        deadline: Instant::now() + limits.request_deadline,
        read_timeout: limits.read_timeout,
        timeout_set: None,
    };
    let mut filled = 0;
    let head_end = loop {
        if filled == buf.len() {
            return Err(Answer::new(
                431,
                "headers_too_large",
                "the request headers are over 16 KiB",
            )
            .into());
        }
        let n = io.read(&mut buf[filled..])?;
        if n == 0 {
            return Err(if filled == 0 {
                ReadError::Closed
            } else {
                bad("the connection closed inside the request headers").into()
            });
        }
        let from = filled.saturating_sub(3);
        filled += n;
        if let Some(i) = find(&buf[from..filled], b"\r\n\r\n") {
            break from + i + 4;
        }
    };

    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    match parsed.parse(&buf[..head_end]) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(bad("the request head is incomplete").into()),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(
                Answer::new(431, "headers_too_large", "the request has too many headers").into(),
            )
        }
        Err(_) => return Err(bad("the request is not valid HTTP/1.1").into()),
    }
    let method = parsed.method.unwrap_or("GET");
    let target = parsed.path.unwrap_or("/");

    let mut content_length: Option<usize> = None;
    let mut chunked = false;
    let mut expect_continue = false;
    let mut out = Vec::with_capacity(head_end + 128);
    out.extend_from_slice(format!("{method} {target} HTTP/1.1\r\n").as_bytes());
    for h in parsed.headers.iter() {
        let name = h.name.to_ascii_lowercase();
        match name.as_str() {
            "content-length" => {
                let v = std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|s| s.trim().parse::<usize>().ok())
                    .ok_or_else(|| bad("Content-Length is not a number"))?;
                if content_length.is_some_and(|c| c != v) {
                    return Err(bad("conflicting Content-Length headers").into());
                }
                content_length = Some(v);
            }
            "transfer-encoding" => {
                let v = String::from_utf8_lossy(h.value).to_ascii_lowercase();
                if v.trim() != "chunked" {
                    return Err(bad("only the chunked transfer encoding is supported").into());
                }
                chunked = true;
            }
            "expect" => expect_continue = h.value.eq_ignore_ascii_case(b"100-continue"),
            // Hop-by-hop headers, and ours: set by the edge below.
            "connection" | "keep-alive" | "te" | "upgrade" | "proxy-connection" => {}
            n if n == EDGE_HEADER.to_ascii_lowercase() => {}
            _ => {
                out.extend_from_slice(h.name.as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(h.value);
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    if chunked && content_length.is_some() {
        return Err(bad("both Content-Length and Transfer-Encoding are set").into());
    }
    if content_length.is_some_and(|n| n > limits.max_body_bytes) {
        return Err(too_large().into());
    }
    if expect_continue && (chunked || content_length.unwrap_or(0) > 0) {
        let _ = io.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }

    let already = buf[head_end..filled].to_vec();
    let body = if chunked {
        read_chunked(&mut io, already, limits.max_body_bytes)?
    } else {
        let len = content_length.unwrap_or(0);
        let mut body = already;
        if body.len() > len {
            // Bytes past the body would be a second (pipelined) request: not served.
            body.truncate(len);
        }
        let mut at = body.len();
        body.resize(len, 0);
        while at < len {
            let n = io.read(&mut body[at..])?;
            if n == 0 {
                return Err(bad("the connection closed inside the body").into());
            }
            at += n;
        }
        body
    };
    out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    Ok(Request { head: out, body })
}

/// Decodes a chunked body, refusing more than `max` decoded bytes.
fn read_chunked(io: &mut Timed, mut raw: Vec<u8>, max: usize) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    let mut pos = 0;
    let wire_cap = max + MAX_CHUNK_OVERHEAD;
    let fill = |raw: &mut Vec<u8>, io: &mut Timed| -> Result<(), ReadError> {
        if raw.len() >= wire_cap {
            return Err(too_large().into());
        }
        let mut chunk = [0u8; 16 * 1024];
        let want = chunk.len().min(wire_cap - raw.len());
        let n = io.read(&mut chunk[..want])?;
        if n == 0 {
            return Err(bad("the connection closed inside a chunked body").into());
        }
        raw.extend_from_slice(&chunk[..n]);
        Ok(())
    };
    loop {
        let size = loop {
            match httparse::parse_chunk_size(&raw[pos..]) {
                Ok(httparse::Status::Complete((used, size))) => {
                    pos += used;
                    break size;
                }
                Ok(httparse::Status::Partial) => fill(&mut raw, io)?,
                Err(_) => return Err(bad("a chunk size line is malformed").into()),
            }
        };
        if size == 0 {
            break;
        }
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if body.len().saturating_add(size) > max {
            return Err(too_large().into());
        }
        while raw.len() < pos + size + 2 {
            fill(&mut raw, io)?;
        }
        body.extend_from_slice(&raw[pos..pos + size]);
        if &raw[pos + size..pos + size + 2] != b"\r\n" {
            return Err(bad("a chunk is not followed by CRLF").into());
        }
        pos += size + 2;
    }
    // Trailers, up to the empty line.
    loop {
        match find(&raw[pos..], b"\r\n") {
            Some(0) => break,
            Some(i) => pos += i + 2,
            None => fill(&mut raw, io)?,
        }
    }
    Ok(body)
}

fn forward(client: &mut TcpStream, req: &Request, shared: &Shared) -> io::Result<()> {
    let mut msg = Vec::with_capacity(req.head.len() + req.body.len() + 100);
    msg.extend_from_slice(&req.head);
    msg.extend_from_slice(format!("{EDGE_HEADER}: {}\r\n\r\n", shared.edge_token).as_bytes());
    msg.extend_from_slice(&req.body);
    let deadline = Instant::now() + shared.limits.read_timeout;
    let answer = shared.links.exchange(&msg, deadline)?;
    let mut out = answer.head;
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(&answer.body);
    client.write_all(&out)?;
    client.flush()
}

fn bad(reason: &str) -> Answer {
    Answer::new(400, "bad_request", reason)
}

fn too_large() -> Answer {
    Answer::new(413, "payload_too_large", "the body is over 1 MiB")
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn respond(stream: &mut TcpStream, r: &Answer) {
    let body = r.json();
    let msg = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        r.status,
        reason_phrase(r.status),
        body.len()
    );
    let _ = stream.write_all(msg.as_bytes());
    let _ = stream.flush();
}

/// Answers without reading: used when the connection cap is reached.
fn refuse(mut stream: TcpStream, r: &Answer) {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
    respond(&mut stream, r);
    let _ = stream.shutdown(Shutdown::Both);
}

pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool whose connections go nowhere: each test connection closes without a request.
    fn pool(lifetime: Duration) -> (Pool, Arc<Shared>, Arc<AtomicUsize>) {
        // Connection threads inherit their scheduling policy from the pool's thread, which in
        // the receiver is the accept thread (and a receiver test checks every `edge-conn`
        // thread of the process has it).
        crate::receiver::yield_to_writer();
        let shared = Arc::new(Shared {
            limits: Limits::default(),
            links: Links::new(InternalAddr::Tcp("127.0.0.1:9".parse().unwrap()), 1),
            edge_token: Arc::new("t".into()),
            on_reject: Arc::new(|_| {}),
        });
        (
            Pool::new(shared.clone(), lifetime),
            shared,
            Arc::new(AtomicUsize::new(0)),
        )
    }

    /// Hands the pool `n` connections at once, each closed by its client, and waits until
    /// all were served.
    fn serve(pool: &Pool, active: &Arc<AtomicUsize>, n: usize) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let clients: Vec<_> = (0..n)
            .map(|_| TcpStream::connect(listener.local_addr().unwrap()).unwrap())
            .collect();
        for _ in 0..n {
            let (stream, _) = listener.accept().unwrap();
            active.fetch_add(1, Ordering::SeqCst);
            pool.serve(stream, ActiveGuard(active.clone()));
        }
        drop(clients);
        wait_for(|| active.load(Ordering::SeqCst) == 0);
    }

    fn wait_for(done: impl Fn() -> bool) {
        let until = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < until, "timed out");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn idle(pool: &Pool) -> usize {
        pool.idle.lock().unwrap().slots.len()
    }

    #[test]
    fn connection_threads_are_reused_and_retire_when_idle() {
        // Long enough for the loop below on a loaded machine: the two threads it leaves idle
        // must not retire during it.
        let (pool, _, active) = pool(Duration::from_secs(3));
        serve(&pool, &active, 3);
        wait_for(|| idle(&pool) == 3);
        // One at a time, twenty more connections: the idle threads take them, none is added.
        for _ in 0..20 {
            serve(&pool, &active, 1);
            wait_for(|| idle(&pool) == 3);
        }
        // Unused for longer than their lifetime, they end.
        wait_for(|| idle(&pool) == 0);
        serve(&pool, &active, 1);
        wait_for(|| idle(&pool) == 1);
    }

    #[test]
    fn dropping_the_pool_ends_its_threads() {
        let (pool, shared, active) = pool(Duration::from_secs(60));
        serve(&pool, &active, 4);
        wait_for(|| idle(&pool) == 4);
        // Each thread holds the shared state; the test and the pool hold the other two.
        assert_eq!(Arc::strong_count(&shared), 6);
        drop(pool);
        wait_for(|| Arc::strong_count(&shared) == 1);
    }
}
