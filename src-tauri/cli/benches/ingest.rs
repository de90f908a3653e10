//! Ingestion benchmark: `make bench` (or `cargo bench --bench ingest`).
//!
//! Measures the Privacy Desk webhook receiver (`privacy-desk serve`) over loopback with
//! signature checking on and FULL durability (that is the receiver's only mode), then puts the
//! same load on a reference peer in the same run: `tests/peer/app.py`, a Flask app using the
//! official `stripe` library's `Webhook.construct_event` and sqlite3 (WAL, synchronous=FULL,
//! one commit per request) under gunicorn. See docs/benchmarks.md for the method.
//!
//! Traffic: `customer.updated` events of about 2 KB, built from a fixture's customer (email,
//! name, address, shipping, metadata), for customers `cus_bench00001`, `cus_bench00002`, …
//! (`c00001@bench.example`, …). Each server gets its own stream of events, the same for both:
//! in every run of ten events one (at a position a seeded PRNG picks) is for a customer the
//! stream has not sent before, so the receiver's linker creates a data subject, and the nine
//! others are for one of the last `BENCH_CUSTOMERS` customers it introduced. Every event has an
//! id not sent before and is signed like Stripe signs (`Stripe-Signature: t=<now>,v1=<hex
//! hmac>`), so every 200 is a new row; a 200 `duplicate` is counted apart, not scored.
//!
//! Connection modes (`BENCH_MODES`), each measured in every phase below:
//! * `close`: one request per TCP connection, `Connection: close` (Stripe to a reverse proxy);
//! * `keep-alive`: each client connection asks for keep-alive and sends request after request
//!   on it, reading exactly one response per request (`Content-Length` framing); when the
//!   server answers `Connection: close` or closes the connection, the client opens a new one
//!   and counts the reconnect.
//!
//! Phases, per target and mode:
//! * closed loop with 1, 8 and 32 concurrent connections: each connection sends one signed
//!   request, waits for the answer, and immediately sends the next;
//! * open loop at a fixed rate (333 events/s): requests are scheduled at fixed instants,
//!   independent of the answers; latency is measured from the scheduled instant, so a stalled
//!   server cannot hide its queueing delay (no coordinated omission).
//!
//! Then paired rounds (receiver, then peer, back to back, in each mode) at the highest
//! connection count, and the no-op server's phase in each mode (the machine's floor).
//!
//! Environment (all optional):
//! * `PRIVACY_DESK_BIN`  receiver binary. Default: the binary cargo built for this bench
//!   (`CARGO_BIN_EXE_privacy-desk`, i.e. `$CARGO_TARGET_DIR/release/privacy-desk` built with
//!   the bench profile, which inherits `release`).
//! * `BENCH_SECS` seconds per closed-loop phase (10); `BENCH_CONNS` connection counts ("1,8,32");
//!   `BENCH_MODES` connection modes ("close,keep-alive");
//! * `BENCH_RATE` open-loop rate in events/s (333); `BENCH_OPEN_SECS` its duration (10);
//!   `BENCH_OPEN_WORKERS` client threads for the open loop (64);
//! * `BENCH_FIXTURE` the customer event the traffic is built from (10-customer.updated.json);
//!   `PRIVACY_DESK_FIXTURES` the fixtures folder (default `tests/fixtures/stripe`, then
//!   `../shared/fixtures/stripe`); `BENCH_CUSTOMERS` how many recent customers the events for
//!   known customers are spread over (10000);
//! * `BENCH_SKIP_RECEIVER=1`, `BENCH_SKIP_PEER=1` run one side only; `BENCH_SKIP_FLOOR=1`
//!   skips the no-op server's phases (the most this load generator can measure here);
//!   `BENCH_RATIO_ROUNDS` paired rounds (3; 0 skips them);
//! * `PEER_VENV` the peer's virtualenv (`.venv` at the repo root; created with
//!   `python3 -m venv` + `pip install -r tests/peer/requirements.txt` when missing);
//!   `PEER_GUNICORN_ARGS` overrides the worker options (default `--workers 5 --worker-class sync`);
//! * `BENCH_OUT` where the markdown report goes (`target/bench/ingest.md` under the repo root);
//! * `BENCH_IDLE_WAIT_SECS` (120): before each phase, wait up to this long for the machine to be
//!   idle; `BENCH_BUSY_PCT` (15) / `BENCH_BUSY_RETRIES` (2): a phase during which other
//!   processes used more than that share of the CPU is repeated, and the least disturbed attempt
//!   is reported (the *other CPU %* column shows how disturbed it was).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET: &str = "whsec_test_privacy_desk_fixture_secret";
const IO_TIMEOUT: Duration = Duration::from_secs(30);

type Res<T> = Result<T, String>;

fn main() {
    if std::env::var_os(FLOOR_ENV).is_some() {
        serve_nothing();
    }
    // `cargo bench` passes `--bench` (and maybe a filter); there is nothing to select here.
    if let Err(e) = run() {
        eprintln!("ingest bench: {e}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration

struct Config {
    repo: PathBuf,
    secs: f64,
    conns: Vec<usize>,
    modes: Vec<Mode>,
    rate: f64,
    open_secs: f64,
    open_workers: usize,
    fixture: PathBuf,
    /// Events for known customers go to one of the last this many introduced.
    customers: u64,
    skip_receiver: bool,
    skip_peer: bool,
    /// Skip the no-op server's phases (the machine's floor; see [`serve_nothing`]).
    skip_floor: bool,
    out: PathBuf,
    /// A phase during which other processes used more than this % of the CPU is repeated.
    busy_pct: f64,
    busy_retries: u32,
    /// Before each phase, wait up to this long for the machine to be idle.
    idle_wait_secs: f64,
    /// Paired rounds (receiver, then peer, back to back) at the highest connection count.
    ratio_rounds: usize,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Res<T> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map_err(|_| format!("{name}={v:?} is not a valid value")),
        _ => Ok(default),
    }
}

fn env_flag(name: &str) -> bool {
    matches!(
        std::env::var(name).as_deref(),
        Ok("1") | Ok("true") | Ok("yes")
    )
}

/// A comma-separated list from the environment, each item parsed by `parse`; never empty.
fn env_list<T>(name: &str, default: &str, parse: impl Fn(&str) -> Option<T>) -> Res<Vec<T>> {
    let v = std::env::var(name).unwrap_or_else(|_| default.into());
    let items = v
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse(s).ok_or_else(|| format!("{name}: bad item {s:?} (default: {default})")))
        .collect::<Res<Vec<T>>>()?;
    if items.is_empty() {
        return Err(format!("{name} lists nothing (default: {default})"));
    }
    Ok(items)
}

impl Config {
    fn from_env() -> Res<Config> {
        let repo = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        let conns = env_list("BENCH_CONNS", "1,8,32", |s| {
            s.parse::<usize>().ok().filter(|&c| c > 0)
        })?;
        let modes = env_list("BENCH_MODES", "close,keep-alive", Mode::parse)?;
        let fixtures = match std::env::var_os("PRIVACY_DESK_FIXTURES") {
            Some(p) => PathBuf::from(p),
            None => [
                repo.join("tests/fixtures/stripe"),
                repo.join("../shared/fixtures/stripe"),
            ]
            .into_iter()
            .find(|p| p.is_dir())
            .ok_or("no Stripe fixtures found: set PRIVACY_DESK_FIXTURES to the fixtures folder")?,
        };
        let fixture_name: String = env_or("BENCH_FIXTURE", "10-customer.updated.json".to_string())?;
        let customers = env_or("BENCH_CUSTOMERS", 10_000u64)?;
        if customers == 0 {
            return Err("BENCH_CUSTOMERS must be at least 1".into());
        }
        let out = std::env::var_os("BENCH_OUT")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo.join("target/bench/ingest.md"));
        Ok(Config {
            secs: env_or("BENCH_SECS", 10.0)?,
            conns,
            modes,
            rate: env_or("BENCH_RATE", 333.0)?,
            open_secs: env_or("BENCH_OPEN_SECS", 10.0)?,
            open_workers: env_or("BENCH_OPEN_WORKERS", 64)?,
            fixture: fixtures.join(fixture_name),
            customers,
            skip_receiver: env_flag("BENCH_SKIP_RECEIVER"),
            skip_peer: env_flag("BENCH_SKIP_PEER"),
            skip_floor: env_flag("BENCH_SKIP_FLOOR"),
            busy_pct: env_or("BENCH_BUSY_PCT", 15.0)?,
            busy_retries: env_or("BENCH_BUSY_RETRIES", 2)?,
            idle_wait_secs: env_or("BENCH_IDLE_WAIT_SECS", 120.0)?,
            ratio_rounds: env_or("BENCH_RATIO_ROUNDS", 3)?,
            out,
            repo,
        })
    }

    /// The highest connection count: the paired rounds' and the floor's.
    fn max_conns(&self) -> usize {
        self.conns.iter().max().copied().unwrap_or(32)
    }
}

// ---------------------------------------------------------------------------------------------
// Traffic

/// A seeded PRNG in its simplest form: SplitMix64's output function, applied to a counter.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const SEED: u64 = 0x5EED_1D35_C0DE_2026;

/// The values a customer's event differs by, in the order of [`HOLES`].
#[rustfmt::skip]
const HOLES: [&str; 10] = [
    "event_id", "customer_id", "email", "name", "phone", "line1", "city", "postal_code",
    "crm_id", "plan",
];
#[rustfmt::skip]
const FIRST: [&str; 16] = [
    "Alice", "Bruno", "Chloe", "Dana", "Ethan", "Fatima", "George", "Hannah", "Ivan", "Julia",
    "Kwame", "Laura", "Mateo", "Niamh", "Oskar", "Priya",
];
#[rustfmt::skip]
const LAST: [&str; 16] = [
    "Martin", "Keller", "Dubois", "Okafor", "Brooks", "Haddad", "Novak", "Schmidt", "Rossi",
    "Nguyen", "Mensah", "Walsh", "Garcia", "Kowalski", "Larsen", "Patel",
];
#[rustfmt::skip]
const STREETS: [&str; 8] = [
    "Lantern Yard", "Kestrel Row", "Mill Lane", "Church Street", "Victoria Road",
    "Orchard Close", "Station Approach", "Rosebank Terrace",
];
/// City and postcode area.
#[rustfmt::skip]
const CITIES: [(&str, &str); 8] = [
    ("Leeds", "LS"), ("Manchester", "M"), ("Bristol", "BS"), ("York", "YO"),
    ("Norwich", "NR"), ("Cardiff", "CF"), ("Glasgow", "G"), ("Brighton", "BN"),
];
const PLANS: [&str; 3] = ["print_club_monthly", "print_club_annual", "one_off"];

/// The benchmark's request bodies: the fixture's `customer.updated` event with its customer
/// filled in (metadata, shipping and a complete address, to about 2 KB), pretty-printed as
/// Stripe sends it, and cut at the values that differ between events.
struct Traffic {
    parts: Vec<Part>,
    /// Events for known customers go to one of the last this many introduced.
    pool: u64,
    run_tag: String,
}

enum Part {
    Text(Vec<u8>),
    /// An index into [`HOLES`].
    Hole(usize),
}

impl Traffic {
    fn load(path: &Path, pool: u64) -> Res<Traffic> {
        let bytes =
            fs::read(path).map_err(|e| format!("cannot read fixture {}: {e}", path.display()))?;
        let mut ev: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("fixture {} is not JSON: {e}", path.display()))?;
        let hole = |name: &str| serde_json::Value::from(format!("@@{name}@@"));
        ev["id"] = hole("event_id");
        let cus = ev
            .pointer_mut("/data/object")
            .filter(|o| o["object"] == "customer")
            .ok_or_else(|| format!("fixture {} is not a customer event", path.display()))?;
        for k in ["email", "name", "phone"] {
            cus[k] = hole(k);
        }
        cus["id"] = hole("customer_id");
        let address = serde_json::json!({
            "city": hole("city"), "country": "GB", "line1": hole("line1"),
            "line2": "Flat 2", "postal_code": hole("postal_code"), "state": "England",
        });
        cus["shipping"] = serde_json::json!({
            "address": address, "name": hole("name"), "phone": hole("phone"),
        });
        cus["address"] = address;
        cus["metadata"] = serde_json::json!({
            "crm_contact_id": hole("crm_id"),
            "plan": hole("plan"),
            "loyalty_tier": "silver",
            "signup_source": "web_checkout",
            "preferred_language": "en-GB",
            "marketing_consent": "granted",
            "consent_recorded_at": "2025-11-14T08:31:52Z",
            "delivery_instructions": "Leave with the neighbour at no. 12 if nobody is in",
        });
        let text = serde_json::to_string_pretty(&ev).map_err(|e| e.to_string())?;
        let parts = text
            .split("@@")
            .enumerate()
            .map(|(i, s)| match i % 2 {
                0 => Ok(Part::Text(s.as_bytes().to_vec())),
                _ => HOLES
                    .iter()
                    .position(|h| *h == s)
                    .map(Part::Hole)
                    .ok_or_else(|| format!("fixture {} contains \"@@\"", path.display())),
            })
            .collect::<Res<Vec<_>>>()?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        Ok(Traffic {
            parts,
            pool,
            run_tag: format!("{:x}", nanos % (1u128 << 64)),
        })
    }

    /// The customer (numbered from 1) of event `n` of a server's stream: one event in each run
    /// of ten, at a position the PRNG picks, introduces the next customer; the others go to one
    /// of the last `pool` customers introduced before that run. A pure function of `n`, so any
    /// thread can build any event, and both servers get the same stream.
    fn customer(&self, n: u64) -> u64 {
        let run = n / 10;
        let r = mix(SEED ^ run);
        if n % 10 == r % 10 {
            return run + 1;
        }
        let known = run.max(1);
        known - mix(r ^ n) % known.min(self.pool)
    }

    /// The body of event `n` of a server's stream.
    fn body(&self, n: u64) -> Vec<u8> {
        let k = self.customer(n);
        let r = mix(SEED.rotate_left(17) ^ k);
        let pick = |list: &[&'static str], shift: u32| list[(r >> shift) as usize % list.len()];
        let (city, area) = CITIES[(r >> 12) as usize % CITIES.len()];
        let values: [String; HOLES.len()] = [
            format!("evt_bench{}n{n}", self.run_tag),
            format!("cus_bench{k:05}"),
            format!("c{k:05}@bench.example"),
            format!("{} {}", pick(&FIRST, 0), pick(&LAST, 4)),
            format!("+447700900{:03}", k % 1000),
            format!("{} {}", 1 + (r >> 16) % 180, pick(&STREETS, 24)),
            city.to_string(),
            format!(
                "{area}{} {}{}{}",
                1 + (r >> 28) % 20,
                (r >> 36) % 10,
                char::from(b'A' + (r >> 52) as u8 % 26),
                char::from(b'A' + (r >> 58) as u8 % 26),
            ),
            format!("003Hs00000{:08x}", r as u32),
            pick(&PLANS, 40).to_string(),
        ];
        let mut b = Vec::with_capacity(2304);
        for p in &self.parts {
            match p {
                Part::Text(t) => b.extend_from_slice(t),
                Part::Hole(i) => b.extend_from_slice(values[*i].as_bytes()),
            }
        }
        b
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn stripe_signature(body: &[u8], secret: &str, t: i64) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn build_request(target: &Target, mode: Mode, body: &[u8]) -> Vec<u8> {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    let sig = stripe_signature(body, SECRET, t);
    let mut req = Vec::with_capacity(body.len() + 512);
    write!(
        req,
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)\r\n\
         Accept: */*; q=0.5, application/xml\r\nContent-Type: application/json; charset=utf-8\r\n\
         Stripe-Signature: {sig}\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n",
        target.path,
        target.addr,
        body.len(),
        mode.name(),
    )
    .expect("write to Vec");
    req.extend_from_slice(body);
    req
}

// ---------------------------------------------------------------------------------------------
// The client

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// One request per TCP connection, `Connection: close`.
    Close,
    /// Requests one after another on a kept-alive connection.
    KeepAlive,
}

impl Mode {
    fn parse(s: &str) -> Option<Mode> {
        match s {
            "close" => Some(Mode::Close),
            "keep-alive" => Some(Mode::KeepAlive),
            _ => None,
        }
    }

    /// Also the request's `Connection` header.
    fn name(self) -> &'static str {
        match self {
            Mode::Close => "close",
            Mode::KeepAlive => "keep-alive",
        }
    }
}

/// A server's answer to one request.
struct Reply {
    status: u16,
    /// The body says `"duplicate"`: the event was stored before (both servers answer 200).
    duplicate: bool,
    /// When the whole response (status line, headers and body) had arrived.
    at: Instant,
}

/// One client connection: in `close` mode a new TCP connection per request; in `keep-alive`
/// mode one connection for request after request, replaced when the server answers
/// `Connection: close` or closes it.
struct Client {
    addr: SocketAddr,
    mode: Mode,
    conn: Option<TcpStream>,
    /// Bytes received and not yet part of a response.
    buf: Vec<u8>,
    /// TCP connections opened.
    connects: u64,
}

impl Client {
    fn new(addr: SocketAddr, mode: Mode) -> Client {
        Client {
            addr,
            mode,
            conn: None,
            buf: Vec::with_capacity(4096),
            connects: 0,
        }
    }

    fn send(&mut self, req: &[u8]) -> io::Result<Reply> {
        let reused = self.conn.is_some();
        match self.exchange(req) {
            // A kept-alive connection that the server closed while it was idle fails before
            // any byte of an answer: the request goes again on a new connection, as HTTP
            // clients do (should the server have stored it, the answer says `duplicate`).
            Err(e) if reused && e.kind() == ErrorKind::ConnectionAborted => self.exchange(req),
            r => r,
        }
    }

    fn exchange(&mut self, req: &[u8]) -> io::Result<Reply> {
        let mut s = match self.conn.take() {
            Some(s) => s,
            None => {
                let s = TcpStream::connect_timeout(&self.addr, IO_TIMEOUT)?;
                s.set_nodelay(true)?;
                s.set_read_timeout(Some(IO_TIMEOUT))?;
                s.set_write_timeout(Some(IO_TIMEOUT))?;
                self.connects += 1;
                self.buf.clear();
                s
            }
        };
        if let Err(e) = s.write_all(req) {
            return Err(match e.kind() {
                ErrorKind::BrokenPipe | ErrorKind::ConnectionReset => aborted(),
                _ => e,
            });
        }
        let (reply, reusable) = read_response(&mut s, &mut self.buf)?;
        if reusable && self.mode == Mode::KeepAlive {
            self.conn = Some(s);
        } else {
            // Let the server close first (it does right after answering `Connection: close`),
            // so TIME_WAIT stays on its side; this is not part of the latency.
            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
            let mut sink = [0u8; 512];
            while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
        }
        Ok(reply)
    }
}

/// The connection ended before any byte of an answer.
fn aborted() -> io::Error {
    io::Error::new(ErrorKind::ConnectionAborted, "closed before answering")
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, what.to_string())
}

/// Reads exactly one response, framed by its `Content-Length` (or, without one, by the end of
/// the connection); tells whether the connection can carry another request.
fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<(Reply, bool)> {
    let mut chunk = [0u8; 4096];
    let mut head: Option<Head> = None;
    let eof = loop {
        if head.is_none() {
            head = parse_head(buf)?;
        }
        if let Some(h) = &head {
            if h.content_length.is_some_and(|l| buf.len() >= h.len + l) {
                break false;
            }
        }
        match s.read(&mut chunk) {
            Ok(0) => break true,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if buf.is_empty() && e.kind() == ErrorKind::ConnectionReset => {
                return Err(aborted())
            }
            Err(e) => return Err(e),
        }
    };
    let at = Instant::now();
    let h = match head {
        None if buf.is_empty() => return Err(aborted()),
        Some(h) if !eof || h.content_length.is_none() => h,
        _ => {
            let e = "the connection closed inside the response";
            return Err(io::Error::new(ErrorKind::UnexpectedEof, e));
        }
    };
    if buf.len() > h.len + h.content_length.unwrap_or(buf.len()) {
        return Err(invalid("bytes after the response"));
    }
    let reply = Reply {
        status: h.status,
        duplicate: find(&buf[h.len..], b"\"duplicate\"").is_some(),
        at,
    };
    buf.clear();
    Ok((reply, !eof && !h.close))
}

/// A message head (a response's, or a request's for the no-op server).
struct Head {
    /// Bytes up to and including the blank line.
    len: usize,
    /// A response's status code; 0 for a request.
    status: u16,
    content_length: Option<usize>,
    /// The connection ends after this message (`Connection: close`, or HTTP/1.0 without
    /// `keep-alive`).
    close: bool,
}

/// Parses a message head once it is complete.
fn parse_head(buf: &[u8]) -> io::Result<Option<Head>> {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let first: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    // A status line starts with the HTTP version, a request line ends with it.
    let (version, status) = match first[..] {
        [v, code, ..] if v.starts_with("HTTP/") => {
            (v, code.parse().map_err(|_| invalid("bad status line"))?)
        }
        [.., v] => (v, 0),
        [] => return Err(invalid("no start line")),
    };
    let (mut content_length, mut connection) = (None, String::new());
    for (k, v) in lines.filter_map(|l| l.split_once(':')) {
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("content-length") {
            content_length = Some(v.parse().map_err(|_| invalid("bad Content-Length"))?);
        } else if k.eq_ignore_ascii_case("connection") {
            connection = v.to_ascii_lowercase();
        } else if k.eq_ignore_ascii_case("transfer-encoding") {
            return Err(invalid(
                "Transfer-Encoding (only Content-Length framing is read)",
            ));
        }
    }
    let has = |t: &str| connection.split(',').any(|c| c.trim() == t);
    Ok(Some(Head {
        len: end + 4,
        status,
        content_length,
        close: has("close") || (version == "HTTP/1.0" && !has("keep-alive")),
    }))
}

// ---------------------------------------------------------------------------------------------
// Load phases

#[derive(Default)]
struct Samples {
    ok_us: Vec<u64>,
    statuses: HashMap<u16, u64>,
    /// 200 answers that said `duplicate`: not counted as events.
    duplicates: u64,
    io_errors: u64,
    first_error: Option<String>,
    /// Connections a client opened after its first one.
    reconnects: u64,
}

impl Samples {
    fn merge(&mut self, o: Samples) {
        self.ok_us.extend(o.ok_us);
        for (k, v) in o.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        self.duplicates += o.duplicates;
        self.io_errors += o.io_errors;
        self.reconnects += o.reconnects;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }

    fn record(&mut self, r: io::Result<Reply>, from: Instant) {
        match r {
            Ok(Reply {
                status: 200,
                duplicate: true,
                ..
            }) => self.duplicates += 1,
            Ok(Reply { status, at, .. }) => {
                *self.statuses.entry(status).or_default() += 1;
                if status == 200 {
                    self.ok_us
                        .push(at.saturating_duration_since(from).as_micros() as u64);
                }
            }
            Err(e) => {
                self.io_errors += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(e.to_string());
                }
            }
        }
    }
}

struct PhaseResult {
    mode: Mode,
    label: String,
    ok: u64,
    other_answers: u64,
    other_answers_detail: String,
    io_errors: u64,
    /// Keep-alive mode only: connections opened after each client's first.
    reconnects: Option<u64>,
    events_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    peak_rss_kib: Option<u64>,
    /// Server CPU time (all its processes and threads) per accepted event, microseconds.
    server_cpu_us_per_event: f64,
    /// CPU time of this load generator per accepted event, microseconds (kernel TCP work included).
    client_cpu_us_per_event: f64,
    /// CPU used by everything else on the machine (not the server, not this load generator)
    /// during the phase, in % of the machine's capacity: how noisy the measurement is.
    other_cpu_pct: f64,
}

fn summarize(
    label: String,
    mode: Mode,
    mut s: Samples,
    elapsed: Duration,
    peak_rss_kib: Option<u64>,
) -> PhaseResult {
    s.ok_us.sort_unstable();
    let pct = |p: f64| -> f64 {
        if s.ok_us.is_empty() {
            return f64::NAN;
        }
        let idx = ((p / 100.0) * s.ok_us.len() as f64).ceil() as usize;
        s.ok_us[idx.clamp(1, s.ok_us.len()) - 1] as f64 / 1000.0
    };
    let mut refused: Vec<_> = s.statuses.iter().filter(|(k, _)| **k != 200).collect();
    refused.sort();
    let other_answers: u64 = refused.iter().map(|(_, v)| **v).sum::<u64>() + s.duplicates;
    let other_answers_detail = refused
        .iter()
        .map(|(k, v)| format!("{v}×{k}"))
        .chain((s.duplicates > 0).then(|| format!("{}×duplicate", s.duplicates)))
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(e) = &s.first_error {
        eprintln!("  ({} I/O errors; first: {e})", s.io_errors);
    }
    if other_answers > 0 {
        // Every phase's events are new: any other answer means the phase did not measure
        // what its events/s claims (a rejection, a refusal under load, a reused event id).
        eprintln!(
            "  warning: {label}: {other_answers} answers other than 200 accepted ({other_answers_detail})"
        );
    }
    PhaseResult {
        mode,
        label,
        ok: s.ok_us.len() as u64,
        other_answers,
        other_answers_detail,
        io_errors: s.io_errors,
        reconnects: (mode == Mode::KeepAlive).then_some(s.reconnects),
        events_per_s: s.ok_us.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: pct(50.0),
        p99_ms: pct(99.0),
        peak_rss_kib,
        server_cpu_us_per_event: f64::NAN,
        client_cpu_us_per_event: f64::NAN,
        other_cpu_pct: f64::NAN,
    }
}

/// Runs `work` on `n` threads, each with its own [`Client`] of `target`, and merges what they
/// measured.
fn run_clients(
    n: usize,
    target: &Target,
    mode: Mode,
    work: impl Fn(&mut Client, &mut Samples) + Sync,
) -> Samples {
    thread::scope(|scope| {
        let handles: Vec<_> = (0..n.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut client = Client::new(target.addr, mode);
                    let mut s = Samples::default();
                    work(&mut client, &mut s);
                    s.reconnects = client.connects.saturating_sub(1);
                    s
                })
            })
            .collect();
        let mut all = Samples::default();
        for h in handles {
            all.merge(h.join().expect("load thread panicked"));
        }
        all
    })
}

fn closed_loop(
    target: &Target,
    traffic: &Traffic,
    mode: Mode,
    conns: usize,
    secs: f64,
) -> PhaseResult {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let all = run_clients(conns, target, mode, |client, s| {
        while Instant::now() < deadline {
            let body = traffic.body(target.next_event());
            let req = build_request(target, mode, &body);
            let t0 = Instant::now();
            let r = client.send(&req);
            if r.is_err() {
                thread::sleep(Duration::from_millis(10)); // do not spin on a dead server
            }
            s.record(r, t0);
        }
    });
    let elapsed = start.elapsed();
    summarize(
        format!("{conns}"),
        mode,
        all,
        elapsed,
        target.peak_rss_kib(),
    )
}

fn open_loop(cfg: &Config, target: &Target, traffic: &Traffic, mode: Mode) -> PhaseResult {
    let total = (cfg.rate * cfg.open_secs).round() as u64;
    let period = Duration::from_secs_f64(1.0 / cfg.rate);
    let next = AtomicU64::new(0);
    let start = Instant::now() + Duration::from_millis(50);
    let all = run_clients(cfg.open_workers, target, mode, |client, s| loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= total {
            break;
        }
        let at = start + period.mul_f64(i as f64);
        let body = traffic.body(target.next_event());
        let now = Instant::now();
        if at > now {
            thread::sleep(at - now);
        }
        let req = build_request(target, mode, &body);
        s.record(client.send(&req), at);
    });
    let elapsed = start.elapsed();
    summarize(
        format!("open {:.0}/s", cfg.rate),
        mode,
        all,
        elapsed,
        target.peak_rss_kib(),
    )
}

// ---------------------------------------------------------------------------------------------
// Targets

struct Target {
    name: String,
    addr: SocketAddr,
    /// Request target: path and query.
    path: String,
    /// Root of the server's process tree (receiver, or gunicorn master).
    pid: u32,
    /// Events sent so far: the next event's number in this server's stream.
    sent: AtomicU64,
}

impl Target {
    fn new(name: &str, addr: SocketAddr, path: &str, pid: u32) -> Target {
        Target {
            name: name.into(),
            addr,
            path: path.into(),
            pid,
            sent: AtomicU64::new(0),
        }
    }

    /// The number of the next event of this server's stream ([`Traffic::customer`]).
    fn next_event(&self) -> u64 {
        self.sent.fetch_add(1, Ordering::Relaxed)
    }

    /// Peak resident set (VmHWM) summed over the server's process tree: the receiver is one
    /// process; gunicorn is a master and its workers.
    fn peak_rss_kib(&self) -> Option<u64> {
        let mut pids = vec![self.pid];
        pids.extend(descendants(self.pid));
        let v: Vec<u64> = pids.iter().filter_map(|p| vm_hwm_kib(*p)).collect();
        (!v.is_empty()).then(|| v.iter().sum())
    }
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    proc_status_kib(pid, "VmHWM")
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(':')))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Current resident memory split into anonymous (heap, stacks) and file-backed (the binary and
/// shared libraries) pages, summed over the process tree, for the report's notes.
fn rss_breakdown(pid: u32) -> Option<String> {
    let mut pids = vec![pid];
    pids.extend(descendants(pid));
    let sum = |f: &str| {
        pids.iter()
            .filter_map(|p| proc_status_kib(*p, f))
            .sum::<u64>() as f64
            / 1024.0
    };
    proc_status_kib(pid, "VmRSS")?;
    Some(format!(
        "VmRSS {:.1} MiB = RssAnon {:.1} + RssFile {:.1} + RssShmem {:.1}",
        sum("VmRSS"),
        sum("RssAnon"),
        sum("RssFile"),
        sum("RssShmem")
    ))
}

/// CPU accounting snapshot, in clock ticks: the machine (busy, total), the server's process
/// tree and this process (the load generator).
struct CpuSnap {
    busy: u64,
    total: u64,
    server: u64,
    me: u64,
}

fn proc_cpu_ticks(pid: &str) -> u64 {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return 0;
    };
    // After the command name: state ppid pgrp session tty tpgid flags minflt cminflt majflt
    // cmajflt utime stime ...
    rest.split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum()
}

/// Whole-machine CPU ticks: (busy, total), from the first line of /proc/stat.
fn machine_ticks() -> (u64, u64) {
    let Some(line) = fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| s.lines().next().map(str::to_string))
    else {
        return (0, 0);
    };
    // cpu user nice system idle iowait irq softirq steal (guest time is inside user)
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

impl CpuSnap {
    fn take(server_pid: u32) -> CpuSnap {
        let (busy, total) = machine_ticks();
        let mut server = proc_cpu_ticks(&server_pid.to_string());
        for c in descendants(server_pid) {
            server += proc_cpu_ticks(&c.to_string());
        }
        CpuSnap {
            busy,
            total,
            server,
            me: proc_cpu_ticks("self"),
        }
    }

    /// Fills the CPU fields of a phase measured between `self` and `after`.
    fn apply(&self, after: &CpuSnap, r: &mut PhaseResult) {
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let server = after.server.saturating_sub(self.server) as f64;
        let me = after.me.saturating_sub(self.me) as f64;
        let busy = after.busy.saturating_sub(self.busy) as f64;
        let total = after.total.saturating_sub(self.total) as f64;
        if r.ok > 0 {
            r.server_cpu_us_per_event = server / hz * 1e6 / r.ok as f64;
            r.client_cpu_us_per_event = me / hz * 1e6 / r.ok as f64;
        }
        if total > 0.0 {
            r.other_cpu_pct = ((busy - server - me).max(0.0) / total * 100.0).min(100.0);
        }
    }
}

fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(rd) = fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                continue;
            };
            if let Some(ppid) = rest
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse::<u32>().ok())
            {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (c, pp) in &parent_of {
            if *pp == p && !out.contains(c) {
                out.push(*c);
                frontier.push(*c);
            }
        }
    }
    out
}

/// A server process that gets SIGTERM (then, after a grace period, SIGKILL) when dropped.
struct Server {
    child: Child,
    what: String,
    log: PathBuf,
}

impl Server {
    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SAFETY: plain kill(2) on the pid of a child we spawned and have not reaped yet.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(st)) => {
                    if !st.success() {
                        eprintln!(
                            "{} exited with {st} after SIGTERM (log: {})",
                            self.what,
                            self.log.display()
                        );
                    }
                    return;
                }
                Ok(None) => thread::sleep(Duration::from_millis(50)),
                Err(_) => break,
            }
        }
        eprintln!(
            "{} did not exit within 15 s of SIGTERM; killing it",
            self.what
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn log_tail(path: &Path) -> String {
    let s = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn receiver_bin() -> PathBuf {
    std::env::var_os("PRIVACY_DESK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_privacy-desk")))
}

fn start_receiver(data_dir: &Path) -> Res<(Server, Target)> {
    let bin = receiver_bin();
    if !bin.is_file() {
        return Err(format!(
            "receiver binary {} not found (build it, or set PRIVACY_DESK_BIN)",
            bin.display()
        ));
    }
    eprintln!(
        "receiver: {} (data dir {})",
        bin.display(),
        data_dir.display()
    );
    let mut add = Command::new(&bin)
        .arg("--data-dir")
        .arg(data_dir)
        .args([
            "processor",
            "add",
            "stripe",
            "--name",
            "Bench",
            "--signing-secret-stdin",
            "--json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    add.stdin
        .take()
        .expect("piped")
        .write_all(format!("{SECRET}\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let out = add.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "`processor add stripe` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "`processor add stripe --json` did not print JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })?;
    let path = v
        .get("webhook_path")
        .and_then(|p| p.as_str())
        .ok_or("`processor add stripe --json` has no webhook_path")?
        .to_string();

    let log = data_dir.join("serve.log");
    let child = Command::new(&bin)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(fs::File::create(&log).map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("cannot run {} serve: {e}", bin.display()))?;
    let mut server = Server {
        child,
        what: "privacy-desk serve".into(),
        log: log.clone(),
    };
    let addr = listen_addr(&mut server, "`serve`")?;
    let target = Target::new(RECEIVER, addr, &path, server.child.id());
    server.what = format!("privacy-desk serve ({addr})");
    Ok((server, target))
}

/// Reads the server's first line, `listening on http://HOST:PORT`, and keeps draining its
/// standard output so that it never blocks on a full pipe.
fn listen_addr(server: &mut Server, what: &str) -> Res<SocketAddr> {
    let log = server.log.clone();
    let stdout = server.child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut first = String::new();
        let _ = tx.send(r.read_line(&mut first).map(|_| first));
        let mut sink = Vec::new();
        let _ = r.read_to_end(&mut sink);
    });
    let first = rx
        .recv_timeout(Duration::from_secs(30))
        .map_err(|_| {
            format!(
                "{what} printed no line within 30 s; log:\n{}",
                log_tail(&log)
            )
        })?
        .map_err(|e| e.to_string())?;
    let url = first
        .trim_end()
        .strip_prefix("listening on http://")
        .ok_or_else(|| {
            format!(
                "{what} first line was {first:?}, not `listening on http://HOST:PORT`; log:\n{}",
                log_tail(&log)
            )
        })?;
    url.parse()
        .map_err(|_| format!("cannot parse address in {first:?}"))
}

// ---------------------------------------------------------------------------------------------
// The floor: a server that does nothing

/// Name of the no-op server's section in the report.
const FLOOR: &str = "no-op server (floor)";
/// Name of the receiver's section in the report.
const RECEIVER: &str = "Privacy Desk";
/// Name of the reference peer's section in the report.
const PEER: &str = "Flask + gunicorn peer";

/// Starts this benchmark's own executable as the no-op server ([`serve_nothing`]).
fn start_floor(dir: &Path) -> Res<(Server, Target)> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let log = dir.join("floor.log");
    let child = Command::new(exe)
        .env(FLOOR_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(fs::File::create(&log).map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("cannot start the no-op server: {e}"))?;
    let mut server = Server {
        child,
        what: "no-op server".into(),
        log,
    };
    let addr = listen_addr(&mut server, "the no-op server")?;
    let target = Target::new(FLOOR, addr, "/", server.child.id());
    Ok((server, target))
}

/// Set (by [`start_floor`]) when this executable is to be the no-op server.
const FLOOR_ENV: &str = "PRIVACY_DESK_BENCH_NOOP_SERVER";

/// The no-op server: reads each request (head, then `Content-Length` bytes) and answers a
/// fixed 200, on 64 threads blocked in `accept`, each serving one connection at a time for as
/// long as its client keeps it alive. No verification, no storage: what it costs is the
/// machine's floor for one request, and its events/s the most this load generator can
/// measure on this machine.
fn serve_nothing() -> ! {
    extern "C" fn exit_now(_: libc::c_int) {
        // SAFETY: _exit is async-signal-safe; nothing is left to flush.
        unsafe { libc::_exit(0) }
    }
    // SIGTERM (the harness's stop) ends it with success, like the receiver.
    // SAFETY: installs a handler that only calls an async-signal-safe function.
    unsafe { libc::signal(libc::SIGTERM, exit_now as *const () as libc::sighandler_t) };
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    println!(
        "listening on http://{}",
        listener.local_addr().expect("local address")
    );
    let listener = Arc::new(listener);
    for _ in 0..64 {
        let listener = listener.clone();
        thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                if let Ok((s, _)) = listener.accept() {
                    serve_noop_connection(s, &mut buf);
                }
            }
        });
    }
    loop {
        thread::park();
    }
}

/// Answers every request on `s` until the client closes or asks to close.
fn serve_noop_connection(mut s: TcpStream, buf: &mut [u8]) {
    let answer = |connection: &str| {
        let body = r#"{"outcome":"accepted"}"#;
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: {connection}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    let (keep_alive, close) = (answer("keep-alive"), answer("close"));
    let mut filled = 0;
    loop {
        // One request: its head, then its body.
        let (len, wants_close) = loop {
            match parse_head(&buf[..filled]) {
                Ok(Some(h)) => {
                    let len = h.len + h.content_length.unwrap_or(0);
                    if filled >= len.min(buf.len()) {
                        break (len, h.close);
                    }
                }
                Ok(None) if filled < buf.len() => {}
                _ => return,
            }
            match s.read(&mut buf[filled..]) {
                Ok(0) | Err(_) => return,
                Ok(n) => filled += n,
            }
        };
        if wants_close || len > buf.len() {
            let _ = s.write_all(&close);
            let _ = s.shutdown(std::net::Shutdown::Both);
            return;
        }
        if s.write_all(&keep_alive).is_err() {
            return;
        }
        buf.copy_within(len..filled, 0);
        filled -= len;
    }
}

fn peer_venv(cfg: &Config) -> Res<PathBuf> {
    let venv = std::env::var_os("PEER_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| cfg.repo.join(".venv"));
    let reqs = cfg.repo.join("tests/peer/requirements.txt");
    if !venv.join("bin/gunicorn").is_file() {
        eprintln!(
            "peer: creating {} (python3 -m venv; pip install -r {})",
            venv.display(),
            reqs.display()
        );
        let ok = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()
            .map_err(|e| format!("python3: {e}"))?;
        if !ok.success() {
            return Err(format!("python3 -m venv {} failed", venv.display()));
        }
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "-r"])
            .arg(&reqs)
            .status()
            .map_err(|e| format!("pip: {e}"))?;
        if !ok.success() {
            return Err(format!("pip install -r {} failed", reqs.display()));
        }
    }
    Ok(venv)
}

fn free_port() -> Res<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

fn start_peer(cfg: &Config, dir: &Path) -> Res<(Server, Target)> {
    let venv = peer_venv(cfg)?;
    let port = free_port()?;
    let addr: SocketAddr = format!("127.0.0.1:{port}")
        .parse()
        .expect("literal address");
    let worker_args = std::env::var("PEER_GUNICORN_ARGS")
        .unwrap_or_else(|_| "--workers 5 --worker-class sync".into());
    let log = dir.join("gunicorn.log");
    eprintln!(
        "peer: gunicorn {worker_args} on {addr} (db {})",
        dir.join("peer.db").display()
    );
    let child = Command::new(venv.join("bin/gunicorn"))
        .arg("--chdir")
        .arg(cfg.repo.join("tests/peer"))
        .args(worker_args.split_whitespace())
        .args([
            "--bind",
            &addr.to_string(),
            "--backlog",
            "2048",
            "--log-level",
            "warning",
            "app:app",
        ])
        .env("STRIPE_WEBHOOK_SECRET", SECRET)
        .env("PEER_DB", dir.join("peer.db"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(fs::File::create(&log).map_err(|e| e.to_string())?)
        .stderr(fs::File::create(dir.join("gunicorn.err")).map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("cannot start gunicorn: {e}"))?;
    let mut server = Server {
        child,
        what: format!("gunicorn peer ({addr})"),
        log: dir.join("gunicorn.err"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(st)) = server.child.try_wait() {
            return Err(format!(
                "gunicorn exited ({st}) before listening; log:\n{}",
                log_tail(&dir.join("gunicorn.err"))
            ));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            break;
        }
        if Instant::now() > deadline {
            server.stop();
            return Err(format!("gunicorn did not listen on {addr} within 30 s"));
        }
        thread::sleep(Duration::from_millis(100));
    }
    // Wait until every worker has booted (imported Flask and stripe), so the first phase does
    // not measure interpreter start-up.
    let workers = worker_args
        .split_whitespace()
        .skip_while(|a| *a != "--workers" && *a != "-w")
        .nth(1)
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(1);
    while descendants(server.child.id()).len() < workers && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(100));
    }
    thread::sleep(Duration::from_millis(1500));
    let target = Target::new(PEER, addr, "/webhooks/stripe", server.child.id());
    Ok((server, target))
}

// ---------------------------------------------------------------------------------------------

/// A few sequential requests in each mode before measuring: checks the setup answers 200 and
/// warms caches.
fn warm_up(cfg: &Config, target: &Target, traffic: &Traffic) -> Res<()> {
    for &mode in &cfg.modes {
        let mut client = Client::new(target.addr, mode);
        for _ in 0..50 {
            let req = build_request(target, mode, &traffic.body(target.next_event()));
            match client.send(&req) {
                Ok(Reply {
                    status: 200,
                    duplicate: false,
                    ..
                }) => {}
                Ok(Reply { status, .. }) => {
                    return Err(format!(
                    "{} answered {status} (or `duplicate`) to a new signed event during warm-up",
                    target.name
                ))
                }
                Err(e) => {
                    return Err(format!(
                        "{} warm-up request ({}) failed: {e}",
                        target.name,
                        mode.name()
                    ))
                }
            }
        }
    }
    Ok(())
}

struct Section {
    name: String,
    results: Vec<PhaseResult>,
    /// Memory at the end of the run.
    rss_note: Option<String>,
}

/// Machine CPU busy fraction (%) over `window`, everything included.
fn machine_busy_pct(window: Duration) -> f64 {
    let (busy0, total0) = machine_ticks();
    thread::sleep(window);
    let (busy1, total1) = machine_ticks();
    let total = total1.saturating_sub(total0) as f64;
    if total == 0.0 {
        return 0.0;
    }
    busy1.saturating_sub(busy0) as f64 / total * 100.0
}

/// Waits (at most `max`) until the machine is idle: on a shared machine, a build or test run
/// started by someone else would otherwise be measured as the server's slowness.
fn wait_idle(max: Duration) {
    let deadline = Instant::now() + max;
    let mut said = false;
    loop {
        let busy = machine_busy_pct(Duration::from_secs(2));
        if busy < 10.0 {
            return;
        }
        if Instant::now() >= deadline {
            eprintln!("  machine still {busy:.0}% busy; measuring anyway");
            return;
        }
        if !said {
            eprintln!("  machine {busy:.0}% busy (other work); waiting for it to go idle…");
            said = true;
        }
    }
}

/// Runs one phase; repeats it (up to `cfg.busy_retries` times) when other processes took more
/// than `cfg.busy_pct` % of the CPU meanwhile, and keeps the least disturbed attempt.
fn phase(cfg: &Config, target: &Target, run: &dyn Fn() -> PhaseResult) -> PhaseResult {
    let mut best: Option<PhaseResult> = None;
    for attempt in 0..=cfg.busy_retries {
        if cfg.idle_wait_secs > 0.0 {
            wait_idle(Duration::from_secs_f64(cfg.idle_wait_secs));
        }
        let before = CpuSnap::take(target.pid);
        let mut r = run();
        before.apply(&CpuSnap::take(target.pid), &mut r);
        eprintln!(
            "  {:.0} events/s, p50 {:.2} ms, p99 {:.2} ms, server CPU {:.0} µs/event, other CPU {:.0}%",
            r.events_per_s, r.p50_ms, r.p99_ms, r.server_cpu_us_per_event, r.other_cpu_pct
        );
        let disturbed = r.other_cpu_pct > cfg.busy_pct;
        if best
            .as_ref()
            .is_none_or(|b| r.other_cpu_pct < b.other_cpu_pct)
        {
            best = Some(r);
        }
        if !disturbed {
            break;
        }
        if attempt < cfg.busy_retries {
            eprintln!("  other processes used the CPU during the phase: repeating it");
        }
    }
    best.expect("at least one attempt")
}

fn bench_target(cfg: &Config, target: &Target, traffic: &Traffic) -> Res<Section> {
    warm_up(cfg, target, traffic)?;
    let mut results = Vec::new();
    for &mode in &cfg.modes {
        for &c in &cfg.conns {
            eprintln!(
                "{}: {}, closed loop, {c} connection(s), {:.0} s…",
                target.name,
                mode.name(),
                cfg.secs
            );
            results.push(phase(cfg, target, &|| {
                closed_loop(target, traffic, mode, c, cfg.secs)
            }));
        }
        if cfg.open_secs > 0.0 && cfg.rate > 0.0 {
            eprintln!(
                "{}: {}, open loop, {:.0} events/s, {:.0} s…",
                target.name,
                mode.name(),
                cfg.rate,
                cfg.open_secs
            );
            results.push(phase(cfg, target, &|| {
                open_loop(cfg, target, traffic, mode)
            }));
        }
    }
    Ok(Section {
        name: target.name.clone(),
        results,
        rss_note: rss_breakdown(target.pid),
    })
}

fn machine_line() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mem_kib = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    format!(
        "{cpu}, {cores} cores, {:.0} GiB RAM, Linux {}",
        mem_kib as f64 / 1048576.0,
        kernel.trim()
    )
}

fn fmt_ms(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else {
        format!("{v:.2}")
    }
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

fn report(cfg: &Config, traffic: &Traffic, sections: &[Section], rounds: &[Round]) -> String {
    let mut md = String::new();
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    let _ = writeln!(md, "## Ingestion benchmark ({now})\n");
    let _ = writeln!(md, "- machine: {}", machine_line());
    let sizes: Vec<usize> = (0..1000).map(|n| traffic.body(n).len()).collect();
    let _ = writeln!(
        md,
        "- traffic: `customer.updated` events built from `{}`, {}–{} bytes, for customers \
         `cus_bench00001`, `cus_bench00002`, …: one event in ten is for a customer not sent \
         before (a new data subject), the others for one of the last {} customers introduced; \
         each event id is new; signed like Stripe signs",
        cfg.fixture
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sizes.iter().min().unwrap_or(&0),
        sizes.iter().max().unwrap_or(&0),
        cfg.customers,
    );
    let _ = writeln!(
        md,
        "- modes: `close` = one request per TCP connection (`Connection: close`); `keep-alive` = \
         requests one after another on a connection that asked for keep-alive, a new one when \
         the server answers `Connection: close` or closes (counted under *reconnects*)"
    );
    let _ = writeln!(
        md,
        "- load: loopback; closed-loop phases {:.0} s each; open loop {:.0} events/s for {:.0} s \
         (latency from the scheduled send time)",
        cfg.secs, cfg.rate, cfg.open_secs
    );
    let _ = writeln!(
        md,
        "- events/s and latency count 200 answers that accepted a new event (connect, or send on \
         a kept-alive connection → full response); any other answer, a 200 `duplicate` included, \
         is under *other answers* and must be 0; peak RSS is VmHWM summed over the server's \
         processes, read after each phase; server CPU is the user + system time of the server's \
         processes per accepted event, client CPU the same for this load generator; other CPU is \
         what the rest of the machine (neither server nor load generator) used during the phase, \
         in % of all cores\n"
    );
    let _ = writeln!(
        md,
        "| server | mode | connections | events/s | p50 ms | p99 ms | 200 accepted | other answers | I/O errors | reconnects | peak RSS MiB | server CPU µs/event | client CPU µs/event | other CPU % |"
    );
    let _ = writeln!(
        md,
        "|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"
    );
    for sec in sections {
        for r in &sec.results {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {:.0} | {:.0} |",
                sec.name,
                r.mode.name(),
                r.label,
                r.events_per_s,
                fmt_ms(r.p50_ms),
                fmt_ms(r.p99_ms),
                r.ok,
                if r.other_answers == 0 {
                    "0".to_string()
                } else {
                    r.other_answers_detail.clone()
                },
                r.io_errors,
                r.reconnects.map_or("–".into(), |n| n.to_string()),
                r.peak_rss_kib
                    .map_or("–".into(), |k| format!("{:.1}", k as f64 / 1024.0)),
                r.server_cpu_us_per_event,
                r.client_cpu_us_per_event,
                r.other_cpu_pct,
            );
        }
    }
    let max_c = cfg.max_conns().to_string();
    let find = |name: &str, mode: Mode, label: &str| {
        sections
            .iter()
            .filter(|s| s.name == name)
            .flat_map(|s| &s.results)
            .find(|r| r.mode == mode && r.label == label)
    };
    for &mode in &cfg.modes {
        let m = mode.name();
        let (receiver, peer) = (find(RECEIVER, mode, &max_c), find(PEER, mode, &max_c));
        let _ = writeln!(md);
        if let (Some(r), Some(p)) = (receiver, peer) {
            let ratio = r.events_per_s / p.events_per_s;
            let _ = writeln!(
                md,
                "**{m}: throughput ratio at {max_c} connections: {ratio:.1}×** ({:.0} vs {:.0} \
                 events/s; target ≥ 10×: {})",
                r.events_per_s,
                p.events_per_s,
                met(ratio >= 10.0)
            );
        }
        // The peer as measured closest in time: the paired rounds' median, else its phase.
        let peer = median(
            rounds
                .iter()
                .filter(|r| r.mode == mode)
                .map(|r| r.peer.events_per_s)
                .collect(),
        )
        .or(peer.map(|p| p.events_per_s));
        if let (Some(f), Some(peer)) = (find(FLOOR, mode, &max_c), peer) {
            let _ = writeln!(
                md,
                "\nThe floor ({m}): a server that reads each request and answers 200 without \
                 verifying or storing anything reached {:.0} events/s at {max_c} connections \
                 ({:.0} µs server CPU and {:.0} µs load-generator CPU per request), {:.1}× the \
                 peer's {peer:.0}: the most any receiver could show against this peer on this \
                 machine with this load generator.",
                f.events_per_s,
                f.server_cpu_us_per_event,
                f.client_cpu_us_per_event,
                f.events_per_s / peer,
            );
        }
    }
    if !rounds.is_empty() {
        let _ = writeln!(
            md,
            "\nPaired rounds at {max_c} connections (receiver, then peer, back to back):\n\n\
             | round | mode | Privacy Desk events/s | peer events/s | ratio | Privacy Desk CPU µs/event | peer CPU µs/event | peer CPU / receiver CPU |\n\
             |---:|---|---:|---:|---:|---:|---:|---:|"
        );
        let per_mode = cfg.modes.len().max(1);
        for (i, r) in rounds.iter().enumerate() {
            let _ = writeln!(
                md,
                "| {} | {} | {:.0} | {:.0} | {:.1}× | {:.0} | {:.0} | {:.1}× |",
                i / per_mode + 1,
                r.mode.name(),
                r.receiver.events_per_s,
                r.peer.events_per_s,
                r.receiver.events_per_s / r.peer.events_per_s,
                r.receiver.server_cpu_us_per_event,
                r.peer.server_cpu_us_per_event,
                r.peer.server_cpu_us_per_event / r.receiver.server_cpu_us_per_event,
            );
        }
        for &mode in &cfg.modes {
            let of_mode: Vec<&Round> = rounds.iter().filter(|r| r.mode == mode).collect();
            let ratio = |f: &dyn Fn(&Round) -> f64| median(of_mode.iter().map(|r| f(r)).collect());
            let eps = ratio(&|r| r.receiver.events_per_s / r.peer.events_per_s);
            let cpu =
                ratio(&|r| r.peer.server_cpu_us_per_event / r.receiver.server_cpu_us_per_event);
            if let (Some(eps), Some(cpu)) = (eps, cpu) {
                let _ = writeln!(
                    md,
                    "\n**{}: median of {} paired rounds: {eps:.1}× the peer's events/s** (target \
                     ≥ 10×: {}); the peer used {cpu:.1}× the receiver's CPU per event.",
                    mode.name(),
                    of_mode.len(),
                    met(eps >= 10.0)
                );
            }
        }
    }
    let receiver: Vec<&PhaseResult> = sections
        .iter()
        .filter(|s| s.name == RECEIVER)
        .flat_map(|s| &s.results)
        .collect();
    for o in receiver.iter().filter(|r| r.label.starts_with("open")) {
        let _ = writeln!(
            md,
            "\nReceiver p99 at {:.0} events/s ({}): {} ms (target ≤ 10 ms: {})",
            cfg.rate,
            o.mode.name(),
            fmt_ms(o.p99_ms),
            met(o.p99_ms <= 10.0 && o.other_answers == 0 && o.io_errors == 0)
        );
    }
    if let Some(peak) = receiver.iter().filter_map(|r| r.peak_rss_kib).max() {
        let _ = writeln!(
            md,
            "\nReceiver peak RSS: {:.1} MiB (target ≤ 30 MB: {})",
            peak as f64 / 1024.0,
            met(peak as f64 * 1024.0 <= 30e6)
        );
    }
    let _ = writeln!(md);
    for sec in sections {
        if let Some(n) = &sec.rss_note {
            let _ = writeln!(md, "- {} memory at the end: {n}", sec.name);
        }
    }
    let busy = sections
        .iter()
        .flat_map(|s| &s.results)
        .chain(rounds.iter().flat_map(|r| [&r.receiver, &r.peer]))
        .map(|r| r.other_cpu_pct)
        .fold(0.0f64, f64::max);
    if busy > 10.0 {
        let _ = writeln!(
            md,
            "\n**Warning:** other processes used up to {busy:.0}% of the machine's CPU during a phase \
             (column *other CPU %*): the numbers above are pessimistic. Re-run on an idle machine."
        );
    }
    md
}

fn run() -> Res<()> {
    let cfg = Config::from_env()?;
    let traffic = Traffic::load(&cfg.fixture, cfg.customers)?;
    // Both servers stay up until the end (an idle one uses no CPU), for the paired rounds.
    let mut servers: Vec<(tempfile::TempDir, Server, Target)> = Vec::new();
    let mut sections = Vec::new();
    let started = (|| -> Res<()> {
        if !cfg.skip_receiver {
            let dir = temp_dir("pd-bench-")?;
            let (server, target) = start_receiver(dir.path())?;
            servers.push((dir, server, target));
        }
        if !cfg.skip_peer {
            let dir = temp_dir("pd-bench-peer-")?;
            let (server, target) = start_peer(&cfg, dir.path())?;
            servers.push((dir, server, target));
        }
        Ok(())
    })();
    let measured = started.and_then(|()| {
        for (_, _, target) in &servers {
            sections.push(bench_target(&cfg, target, &traffic)?);
        }
        Ok(match &servers[..] {
            [(_, _, receiver), (_, _, peer)] => paired_rounds(&cfg, receiver, peer, &traffic),
            _ => Vec::new(),
        })
    });
    for (_, server, _) in &mut servers {
        server.stop();
        if measured.is_err() {
            eprintln!("{} log tail:\n{}", server.what, log_tail(&server.log));
        }
    }
    let rounds = measured?;
    if !cfg.skip_floor {
        sections.push(bench_floor(&cfg, &traffic)?);
    }

    let md = report(&cfg, &traffic, &sections, &rounds);
    println!("{md}");
    if let Some(parent) = cfg.out.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    fs::write(&cfg.out, &md).map_err(|e| format!("cannot write {}: {e}", cfg.out.display()))?;
    eprintln!("report written to {}", cfg.out.display());
    Ok(())
}

/// One closed-loop phase per mode at the highest connection count against the no-op server.
fn bench_floor(cfg: &Config, traffic: &Traffic) -> Res<Section> {
    let dir = temp_dir("pd-bench-floor-")?;
    let (mut server, target) = start_floor(dir.path())?;
    let c = cfg.max_conns();
    let mut results = Vec::new();
    for &mode in &cfg.modes {
        eprintln!(
            "{FLOOR}: {}, closed loop, {c} connection(s), {:.0} s…",
            mode.name(),
            cfg.secs
        );
        results.push(phase(cfg, &target, &|| {
            closed_loop(&target, traffic, mode, c, cfg.secs)
        }));
    }
    server.stop();
    Ok(Section {
        name: target.name,
        results,
        rss_note: None,
    })
}

fn temp_dir(prefix: &str) -> Res<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|e| e.to_string())
}

/// One paired round: the receiver's and the peer's phases in one mode at the same connection
/// count, measured one right after the other.
struct Round {
    mode: Mode,
    receiver: PhaseResult,
    peer: PhaseResult,
}

/// Closed-loop phases at the highest connection count, alternating receiver and peer in each
/// mode, so that each ratio compares two servers measured under the same machine conditions
/// (this virtual machine's speed drifts by tens of per cent within minutes).
fn paired_rounds(cfg: &Config, receiver: &Target, peer: &Target, traffic: &Traffic) -> Vec<Round> {
    let c = cfg.max_conns();
    let mut rounds = Vec::new();
    for i in 1..=cfg.ratio_rounds {
        for &mode in &cfg.modes {
            let [receiver, peer] = [receiver, peer].map(|target| {
                eprintln!(
                    "paired round {i}/{}: {}, {}, {c} connection(s), {:.0} s…",
                    cfg.ratio_rounds,
                    target.name,
                    mode.name(),
                    cfg.secs
                );
                phase(cfg, target, &|| {
                    closed_loop(target, traffic, mode, c, cfg.secs)
                })
            });
            rounds.push(Round {
                mode,
                receiver,
                peer,
            });
        }
    }
    rounds
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}
