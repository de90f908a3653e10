//! The private socket between the edge and tiny_http: a Unix socket in a directory only this
//! user can open (on Windows, loopback TCP). Requests on it also carry the edge's random
//! token, checked by the handler. The edge reuses its connections to tiny_http ([`Links`]).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub enum InternalAddr {
    #[cfg(unix)]
    Unix(PathBuf),
    #[cfg_attr(unix, allow(dead_code))]
    Tcp(std::net::SocketAddr),
}

pub enum InternalStream {
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixStream),
    Tcp(TcpStream),
}

impl InternalAddr {
    pub fn connect(&self) -> io::Result<InternalStream> {
        match self {
            #[cfg(unix)]
            InternalAddr::Unix(p) => {
                std::os::unix::net::UnixStream::connect(p).map(InternalStream::Unix)
            }
            InternalAddr::Tcp(a) => {
                TcpStream::connect_timeout(a, Duration::from_secs(2)).map(InternalStream::Tcp)
            }
        }
    }
}

impl InternalStream {
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            #[cfg(unix)]
            InternalStream::Unix(s) => s.set_read_timeout(t),
            InternalStream::Tcp(s) => s.set_read_timeout(t),
        }
    }

    /// Waits until the inner server's answer has bytes to read (or `timeout`).
    ///
    /// On Linux a thread blocked in `read` on a Unix socket is also woken each time the peer
    /// takes bytes this side sent (the socket's "writable again" wake-up shares the queue),
    /// so the edge thread waiting for an answer was woken for nothing when the handler read
    /// the request body, once per event. `poll` for input only is not woken by that.
    fn wait_readable(&self, timeout: Duration) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        if let InternalStream::Unix(s) = self {
            use std::os::fd::AsRawFd;
            let mut fds = libc::pollfd {
                fd: s.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
            loop {
                // SAFETY: one valid pollfd, owned by this frame, for the length given.
                let n = unsafe { libc::poll(&mut fds, 1, ms) };
                if n > 0 {
                    return Ok(());
                }
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the inner server did not answer in time",
                    ));
                }
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
        let _ = timeout;
        Ok(())
    }
}

impl Read for InternalStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            #[cfg(unix)]
            InternalStream::Unix(s) => s.read(buf),
            InternalStream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for InternalStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            #[cfg(unix)]
            InternalStream::Unix(s) => s.write(buf),
            InternalStream::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            #[cfg(unix)]
            InternalStream::Unix(s) => s.flush(),
            InternalStream::Tcp(s) => s.flush(),
        }
    }
}

/// Kept-alive connections to the inner server, reused from one request to the next (a new
/// private connection per request cost a socket, a connect, tiny_http's hand-off of the
/// connection to a thread of its pool, and the teardown: 363 → 336 µs of receiver CPU per
/// event in the ingestion benchmark).
///
/// tiny_http serves each connection on one thread of its task pool for as long as it stays
/// open. Its pool gives a new connection to a thread it counts as idle, but a thread it has
/// just woken still counts as idle: a second connection opened at that moment is queued until
/// some connection closes, which for a kept-alive one may be never. So connections are opened
/// one at a time, and the next only after the previous one got its first answer (by then a
/// thread of tiny_http is on it). At most `max` exist; a request finding none free waits.
pub struct Links {
    addr: InternalAddr,
    max: usize,
    state: Mutex<LinkState>,
    changed: Condvar,
}

struct LinkState {
    /// Free connections, most recently used last.
    idle: VecDeque<(InternalStream, Instant)>,
    /// Connections in existence: idle, in use, or being opened.
    open: usize,
    /// A connection is being opened and has not had its first answer yet.
    opening: bool,
    /// Requests waiting in `checkout` (only then is a check-in worth a wake-up call).
    waiting: usize,
}

/// A free connection unused this long is closed (its tiny_http thread ends), after a burst.
const LINK_IDLE: Duration = Duration::from_secs(60);
/// The longest the inner server may take to answer (it answers after the commit).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest answer the inner server gives (a small JSON document).
const MAX_ANSWER: usize = 64 * 1024;

/// The inner server's answer: the status line and headers (each ending in CRLF, without the
/// `Connection` header and the empty line), and the body.
pub struct InnerAnswer {
    pub head: Vec<u8>,
    pub body: Vec<u8>,
}

impl Links {
    pub fn new(addr: InternalAddr, max: usize) -> Links {
        Links {
            addr,
            max: max.max(1),
            state: Mutex::new(LinkState {
                idle: VecDeque::new(),
                open: 0,
                opening: false,
                waiting: 0,
            }),
            changed: Condvar::new(),
        }
    }

    /// Sends one request (framed with `Content-Length`, without `Connection: close`) and
    /// reads its answer, waiting at most until `deadline` for a free connection.
    pub fn exchange(&self, request: &[u8], deadline: Instant) -> io::Result<InnerAnswer> {
        let mut retried = false;
        loop {
            let (mut link, fresh) = self.checkout(deadline)?;
            match roundtrip(&mut link, request) {
                Ok((answer, reusable)) => {
                    self.checkin(reusable.then_some(link), fresh);
                    return Ok(answer);
                }
                Err(e) => {
                    self.checkin(None, fresh);
                    // A reused connection may have been closed by the inner server after an
                    // earlier error: try once more (storing an event is idempotent).
                    let closed = matches!(
                        e.kind(),
                        io::ErrorKind::UnexpectedEof
                            | io::ErrorKind::BrokenPipe
                            | io::ErrorKind::ConnectionReset
                    );
                    if fresh || !closed || retried {
                        return Err(e);
                    }
                    retried = true;
                }
            }
        }
    }

    /// A free connection, or a new one (`true`) if none is free and one may be opened.
    fn checkout(&self, deadline: Instant) -> io::Result<(InternalStream, bool)> {
        let mut st = self.state.lock().expect("link state");
        loop {
            if let Some((link, _)) = st.idle.pop_back() {
                return Ok((link, false));
            }
            if !st.opening && st.open < self.max {
                st.opening = true;
                st.open += 1;
                drop(st);
                let link = self.addr.connect().and_then(|link| {
                    link.set_read_timeout(Some(ANSWER_TIMEOUT))?;
                    Ok(link)
                });
                return match link {
                    Ok(link) => Ok((link, true)),
                    Err(e) => {
                        self.checkin(None, true);
                        Err(e)
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no free connection to the inner server",
                ));
            }
            st.waiting += 1;
            st = self.changed.wait_timeout(st, left).expect("link state").0;
            st.waiting -= 1;
        }
    }

    /// Returns a connection to the free list (`None`: it was closed).
    fn checkin(&self, link: Option<InternalStream>, fresh: bool) {
        let mut st = self.state.lock().expect("link state");
        if fresh {
            st.opening = false;
        }
        match link {
            Some(link) => st.idle.push_back((link, Instant::now())),
            None => st.open -= 1,
        }
        while st
            .idle
            .front()
            .is_some_and(|(_, t)| t.elapsed() > LINK_IDLE)
        {
            st.idle.pop_front();
            st.open -= 1;
        }
        let waiting = st.waiting > 0;
        drop(st);
        // One check-in frees one thing — a connection, or room to open one — so it wakes one
        // waiter: waking all of them had every waiter but one go back to sleep, once per
        // request (at 400 concurrent connections, ~4× the CPU per event). Only the end of
        // an opening frees two (the connection and the right to open the next), and it
        // happens at most once per connection opened.
        if waiting && fresh {
            self.changed.notify_all();
        } else if waiting {
            self.changed.notify_one();
        }
    }
}

/// Writes `request`, reads one answer framed by `Content-Length`. `true`: the connection
/// can carry another request.
fn roundtrip(link: &mut InternalStream, request: &[u8]) -> io::Result<(InnerAnswer, bool)> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    link.write_all(request)?;
    link.flush()?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let (head_end, length, close) = loop {
        link.wait_readable(ANSWER_TIMEOUT)?;
        let n = link.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the inner server closed the connection",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Response::new(&mut headers);
        match parsed.parse(&buf) {
            Ok(httparse::Status::Complete(end)) => {
                let header = |name: &str| {
                    parsed
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
                };
                let length = header("content-length")
                    .and_then(|v| v.parse::<usize>().ok())
                    .ok_or_else(|| invalid("the inner server's answer has no Content-Length"))?;
                let close = header("connection").is_some_and(|v| v.contains("close"));
                break (end, length, close);
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_ANSWER => {}
            _ => return Err(invalid("the inner server's answer is not valid HTTP")),
        }
    };
    if length > MAX_ANSWER {
        return Err(invalid("the inner server's answer is too large"));
    }
    let mut body = buf.split_off(head_end);
    let over = body.len() > length;
    let mut at = body.len();
    body.resize(length, 0);
    while at < length {
        link.wait_readable(ANSWER_TIMEOUT)?;
        let n = link.read(&mut body[at..])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the inner server closed the connection inside an answer",
            ));
        }
        at += n;
    }
    // The head without its empty line and without `Connection` (the edge sets its own).
    let mut head = Vec::with_capacity(head_end);
    for line in buf[..head_end - 2].split_inclusive(|&b| b == b'\n') {
        if !line.to_ascii_lowercase().starts_with(b"connection:") {
            head.extend_from_slice(line);
        }
    }
    Ok((InnerAnswer { head, body }, !close && !over))
}

/// The inner tiny_http server on a fresh private socket. The returned guard removes the
/// socket's directory when dropped.
pub fn bind() -> io::Result<(tiny_http::Server, InternalAddr, SocketDir)> {
    let to_io = |e: Box<dyn std::error::Error + Send + Sync>| io::Error::other(e.to_string());
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        let mut rnd = [0u8; 8];
        getrandom::fill(&mut rnd).map_err(|e| io::Error::other(e.to_string()))?;
        let dir = std::env::temp_dir().join(format!("privacy-desk-{}", hex::encode(rnd)));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        let path = dir.join("edge.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path)?;
        let server = tiny_http::Server::from_listener(listener, None).map_err(to_io)?;
        Ok((server, InternalAddr::Unix(path), SocketDir(Some(dir))))
    }
    #[cfg(not(unix))]
    {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let server = tiny_http::Server::from_listener(listener, None).map_err(to_io)?;
        Ok((server, InternalAddr::Tcp(addr), SocketDir(None)))
    }
}

pub struct SocketDir(Option<PathBuf>);

impl Drop for SocketDir {
    fn drop(&mut self) {
        if let Some(d) = self.0.take() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{mpsc, Arc};

    const CLIENTS: usize = 16;
    const REQUESTS: usize = 25;

    /// Many concurrent requests over a few kept-alive connections (more than tiny_http's
    /// idle threads) all get their own answer, promptly. Opening connections all at once
    /// lets tiny_http queue one behind a busy connection for good, which shows up here as a
    /// stall within a few rounds. With 2 connections for 16 clients most requests wait for
    /// one: a check-in that woke nobody, or a waiter that missed its wake-up, stalls them.
    #[test]
    fn concurrent_requests_share_kept_alive_connections() {
        for max in [12, 2].repeat(4) {
            let (server, addr, _dir) = bind().unwrap();
            let server = Arc::new(server);
            {
                let server = server.clone();
                std::thread::spawn(move || {
                    while let Ok(rq) = server.recv() {
                        let echo = rq.url().trim_start_matches('/').to_owned();
                        // Answers come late and out of order, as after a group commit.
                        std::thread::spawn(move || {
                            std::thread::sleep(Duration::from_millis(2));
                            let _ = rq.respond(tiny_http::Response::from_string(echo));
                        });
                    }
                });
            }
            let links = Arc::new(Links::new(addr, max));
            let (done_tx, done) = mpsc::channel();
            for c in 0..CLIENTS {
                let (links, done_tx) = (links.clone(), done_tx.clone());
                std::thread::spawn(move || {
                    for i in 0..REQUESTS {
                        let rq = format!("GET /{c}-{i} HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
                        let deadline = Instant::now() + Duration::from_secs(10);
                        let a = links.exchange(rq.as_bytes(), deadline).unwrap();
                        assert_eq!(a.body, format!("{c}-{i}").as_bytes());
                        let head = String::from_utf8(a.head).unwrap().to_ascii_lowercase();
                        assert!(head.starts_with("http/1.1 200") && head.ends_with("\r\n"));
                        assert!(!head.contains("connection:"), "{head}");
                    }
                    done_tx.send(()).unwrap();
                });
            }
            for _ in 0..CLIENTS {
                done.recv_timeout(Duration::from_secs(20))
                    .expect("every client gets all its answers without stalling");
            }
            let st = links.state.lock().unwrap();
            assert!((1..=max).contains(&st.open), "{} connections", st.open);
            assert_eq!(st.idle.len(), st.open, "all connections are free again");
            drop(st);
            server.unblock();
        }
    }
}
