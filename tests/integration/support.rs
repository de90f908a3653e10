//! Shared helpers: a data dir, the real binary, a running `serve`, signed requests over
//! real HTTP on loopback, and the Stripe fixtures.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use privacy_desk_core::secrets::Secret;
use privacy_desk_core::stripe::signature;
use serde_json::Value;

pub const SECRET: &str = "whsec_test_privacy_desk_fixture_secret";

/// `privacy-desk`. Cargo names it to the CLI crate's tests (these); the desktop crate's e2e
/// tests find it beside `privacy-desk-gui`, since `cargo test` at the root builds both.
pub fn bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(cli) = option_env!("CARGO_BIN_EXE_privacy-desk") {
            return cli.to_string();
        }
        let Some(gui) = option_env!("CARGO_BIN_EXE_privacy-desk-gui") else {
            panic!("these tests belong to the CLI or the desktop crate");
        };
        let cli =
            Path::new(gui).with_file_name(format!("privacy-desk{}", std::env::consts::EXE_SUFFIX));
        assert!(
            cli.is_file(),
            "{} is missing: run the tests from the workspace root (`cargo test`)",
            cli.display()
        );
        cli.to_string_lossy().into_owned()
    })
}

/// The repository's root (the crate under test may sit in `src-tauri/<crate>/`).
pub fn repo() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("tauri.conf.json").is_file())
        .unwrap_or(manifest)
        .to_path_buf()
}

pub fn fixtures_dir() -> PathBuf {
    repo().join("tests/fixtures/stripe")
}

pub struct Fixture {
    pub file: String,
    pub body: Vec<u8>,
    pub manifest: Value,
}

pub fn fixtures() -> Vec<Fixture> {
    let dir = fixtures_dir();
    let manifest: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    manifest
        .into_iter()
        .map(|m| {
            let file = m["file"].as_str().unwrap().to_owned();
            Fixture {
                body: std::fs::read(dir.join(&file)).unwrap(),
                file,
                manifest: m,
            }
        })
        .collect()
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn sign(body: &[u8]) -> String {
    signature::sign(body, &Secret::new(SECRET), now())
}

/// Runs the CLI with `--data-dir dir`.
pub fn cli(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    cli_with(dir, None, args, stdin, &[])
}

/// Runs the CLI with `--data-dir dir`, the Stripe API at `stripe_base` (a fake Stripe server)
/// with short retry back-offs, and extra environment variables.
pub fn cli_with(
    dir: &Path,
    stripe_base: Option<&str>,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("--data-dir").arg(dir).args(args);
    if let Some(b) = stripe_base {
        cmd.env("PRIVACY_DESK_STRIPE_API_BASE", b);
    }
    cmd.env("PRIVACY_DESK_STRIPE_BACKOFF_MS", "5");
    cmd.envs(env.iter().copied());
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start privacy-desk");
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

/// Runs the CLI, expects success, parses its JSON stdout.
pub fn cli_json(dir: &Path, args: &[&str], stdin: Option<&str>) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    json_of(&cli(dir, &all, stdin), &format!("{args:?}"))
}

/// Expects `out` (a CLI run, `what` names it) to have succeeded; parses its JSON stdout.
pub fn json_of(out: &std::process::Output, what: &str) -> Value {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: stdout is not one JSON document ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Adds a Stripe processor with the fixture secret; returns its webhook path.
pub fn add_stripe(dir: &Path) -> (i64, String) {
    let p = cli_json(
        dir,
        &["processor", "add", "stripe", "--signing-secret-stdin"],
        Some(&format!("{SECRET}\n")),
    );
    (
        p["id"].as_i64().unwrap(),
        p["webhook_path"].as_str().unwrap().to_owned(),
    )
}

/// A `serve` process; SIGTERM on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Server {
    pub fn start(dir: &Path) -> Server {
        Self::start_on(dir, "127.0.0.1:0")
    }

    pub fn start_on(dir: &Path, listen: &str) -> Server {
        Self::start_with(dir, listen, &[])
    }

    /// `serve` with extra environment variables (the fake Stripe's base URL, say).
    pub fn start_with(dir: &Path, listen: &str, env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(bin())
            .arg("--data-dir")
            .arg(dir)
            .args(["serve", "--listen", listen])
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .parse()
            .unwrap();
        Server { child, addr }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        terminate(&self.child);
        let s = self.child.wait().unwrap();
        std::mem::forget(self);
        s
    }

    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        std::mem::forget(self);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        terminate(&self.child);
        let _ = self.child.wait();
    }
}

pub fn terminate(child: &Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

/// A raw HTTP/1.1 exchange: returns (status, body as JSON or Null).
pub fn raw(addr: SocketAddr, request: &[u8]) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = s.write_all(request);
    parse_response(&read_response(&mut s))
}

pub fn parse_response(out: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(out);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Reads one response from `s`: its head, then `Content-Length` bytes of body (the receiver
/// keeps connections alive, so reading to the end would wait for its idle timeout). Whatever
/// arrived when the peer closed or a read timed out.
pub fn read_response(s: &mut impl Read) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let mut want: Option<usize> = None;
    loop {
        if let Some(w) = want {
            if out.len() >= w {
                return out;
            }
        }
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => return out,
            Ok(n) => n,
        };
        out.extend_from_slice(&buf[..n]);
        if want.is_none() {
            if let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&out[..end]).to_ascii_lowercase();
                // 1xx answers (100 Continue) come before the real one.
                if head.starts_with("http/1.1 1") {
                    out.drain(..end + 4);
                    continue;
                }
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok());
                want = Some(len.map_or(usize::MAX, |l| end + 4 + l));
            }
        }
    }
}

/// POSTs `body` to `path` with the given extra headers.
pub fn post(addr: SocketAddr, path: &str, body: &[u8], headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    raw(addr, &bytes)
}

/// POSTs a body signed now with the fixture secret.
pub fn post_signed(addr: SocketAddr, path: &str, body: &[u8]) -> (u16, Value) {
    let sig = sign(body);
    post(addr, path, body, &[("Stripe-Signature", &sig)])
}

/// Waits until `cond` holds (the linking step runs after the 200).
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..100 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for: {what}");
}

/// A Stripe event body with a given id, based on a customer.created fixture.
pub fn event_body(id: &str) -> Vec<u8> {
    format!(
        r#"{{"id":"{id}","object":"event","type":"customer.created","created":1762798961,"livemode":false,
"data":{{"object":{{"id":"cus_{id}","object":"customer","email":"{id}@example.com","name":"Test"}}}}}}"#
    )
    .into_bytes()
}

/// What a file of the data directory holds, as a scan for data that must not be there has to
/// see it: its bytes, and for the database every event's payload as JSON, which the file keeps
/// compressed (core `store/payload.rs`), so that a byte scan alone would not see into it.
pub fn scannable_bytes(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    if path.file_name().and_then(|n| n.to_str()) == Some(privacy_desk_core::store::DB_FILE) {
        // Read-only: closing it never checkpoints or removes the WAL the scan also reads.
        let conn = privacy_desk_core::store::Connection::open_with_flags(
            path,
            privacy_desk_core::store::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        for json in privacy_desk_core::store::events::payload_texts(&conn).unwrap() {
            bytes.push(b'\n');
            bytes.extend_from_slice(json.as_bytes());
        }
    }
    bytes
}
