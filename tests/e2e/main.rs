//! End to end: the real app window, driven over WebDriver through `tauri-driver`.
//!
//! Needs an X display, `tauri-driver` and `WebKitWebDriver` (all from `make setup`). Run it as
//! `make test` does: `.ci/with-session.sh cargo test --test e2e`. Artifacts (the screenshot and
//! tauri-driver's log) go to `target/e2e-screenshots/` in the repository.
#![cfg(target_os = "linux")]

use std::fs::{self, File};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

const APP: &str = env!("CARGO_BIN_EXE_privacy-desk");

#[test]
fn first_screen_shows_the_title_and_the_version() {
    // Dropped in reverse order: session, then tauri-driver, then the data dir.
    let data_dir = tempfile::tempdir().expect("create a temporary data dir");
    let driver = TauriDriver::start(data_dir.path());
    let session = Session::create(&driver, APP);

    session.wait_for("the window title to contain \"Privacy Desk\"", |s| {
        let title = s.title()?;
        if title.contains("Privacy Desk") {
            Ok(())
        } else {
            Err(format!("the title is {title:?}"))
        }
    });

    let expected = format!("Version {}", env!("CARGO_PKG_VERSION"));
    session.wait_for(&format!("#app-version to read {expected:?}"), |s| {
        let text = s.text("#app-version")?;
        if text.trim() == expected {
            Ok(())
        } else {
            Err(format!("#app-version reads {text:?}"))
        }
    });

    let path = artifacts_dir().join("home.png");
    fs::write(&path, session.screenshot_png()).expect("write the screenshot");
    eprintln!("screenshot: {}", path.display());
}

/// `target/e2e-screenshots/` in the repository (not `CARGO_TARGET_DIR`, which may be elsewhere).
fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e-screenshots");
    fs::create_dir_all(&dir).expect("create target/e2e-screenshots");
    dir
}

/// A running `tauri-driver`, stopped with SIGTERM on drop (SIGKILL would orphan
/// WebKitWebDriver, which then keeps its port).
struct TauriDriver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl TauriDriver {
    /// Starts tauri-driver on free ports; the app it launches inherits its environment, so the
    /// app uses `data_dir`.
    fn start(data_dir: &Path) -> TauriDriver {
        assert!(
            std::env::var_os("DISPLAY").is_some(),
            "the e2e test needs an X display and DISPLAY is unset: run it through \
             `.ci/with-session.sh cargo test --test e2e` (or `make test`)"
        );
        let (port, native_port) = free_port_pair();
        let log = artifacts_dir().join("tauri-driver.log");
        let out = File::create(&log).expect("create tauri-driver.log");
        let err = out.try_clone().expect("clone the log file handle");
        let child = Command::new(tauri_driver_path())
            .args(["--port", &port.to_string()])
            .args(["--native-port", &native_port.to_string()])
            .env("PRIVACY_DESK_DATA_DIR", data_dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start tauri-driver: run `make setup` to install it");
        let mut driver = TauriDriver { child, port, log };
        driver.wait_until_listening(Duration::from_secs(15));
        driver
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn wait_until_listening(&mut self, timeout: Duration) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + timeout;
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "tauri-driver exited with {status}; see {}",
                    self.log.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "tauri-driver did not listen on port {} within {timeout:?}; see {}",
                self.port,
                self.log.display()
            );
            sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for TauriDriver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            sleep(Duration::from_millis(100));
        }
        eprintln!("tauri-driver ignored SIGTERM for 10 s: killing it");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tauri-driver` from PATH, else from cargo's bin directory.
fn tauri_driver_path() -> PathBuf {
    let from_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("tauri-driver"))
            .find(|candidate| candidate.is_file())
    });
    from_path.unwrap_or_else(|| {
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo")
            });
        cargo_home.join("bin/tauri-driver")
    })
}

/// Two distinct ports that were free a moment ago (both listeners are held while asking).
fn free_port_pair() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let b = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = |l: &TcpListener| l.local_addr().expect("local addr").port();
    (port(&a), port(&b))
}

/// A WebDriver session on the app, deleted on drop (which closes the app).
struct Session {
    http: reqwest::blocking::Client,
    base: String,
}

impl Session {
    const CREATE_TIMEOUT: Duration = Duration::from_secs(60);
    const WAIT_TIMEOUT: Duration = Duration::from_secs(20);

    fn create(driver: &TauriDriver, app: &str) -> Session {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("build the HTTP client");
        let capabilities = json!({
            "capabilities": {"alwaysMatch": {"tauri:options": {"application": app}}}
        });
        let response: Value = http
            .post(driver.url("/session"))
            .json(&capabilities)
            .timeout(Self::CREATE_TIMEOUT)
            .send()
            .and_then(|r| r.json())
            .unwrap_or_else(|e| {
                panic!(
                    "create a WebDriver session: {e}; see {}",
                    driver.log.display()
                )
            });
        let Some(id) = response["value"]["sessionId"].as_str() else {
            panic!(
                "WebDriver refused the session: {}; see {}",
                response["value"],
                driver.log.display()
            );
        };
        Session {
            base: driver.url(&format!("/session/{id}")),
            http,
        }
    }

    /// Sends one WebDriver command; returns its `value`, or the WebDriver error as text.
    fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let mut response: Value = request
            .send()
            .and_then(|r| r.json())
            .map_err(|e| e.to_string())?;
        let value = response["value"].take();
        match value.get("error") {
            Some(error) => Err(format!("{error}: {}", value["message"])),
            None => Ok(value),
        }
    }

    fn title(&self) -> Result<String, String> {
        let value = self.call(reqwest::Method::GET, "/title", None)?;
        value
            .as_str()
            .map(String::from)
            .ok_or_else(|| format!("title: {value}"))
    }

    /// The text of the first element matching `css`.
    fn text(&self, css: &str) -> Result<String, String> {
        let query = json!({"using": "css selector", "value": css});
        let element = self.call(reqwest::Method::POST, "/element", Some(query))?;
        // The W3C element reference: {"element-6066-11e4-a52e-4f735a6ec8": ID}.
        let id = element
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{css}: unexpected element reference {element}"))?;
        let text = self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None)?;
        text.as_str()
            .map(String::from)
            .ok_or_else(|| format!("{css}: text: {text}"))
    }

    /// A PNG of the window, taken once the page has painted its latest changes.
    fn screenshot_png(&self) -> Vec<u8> {
        // Text can be in the DOM before it is painted: wait two animation frames first.
        let settle = json!({
            "script": "const done = arguments[0]; \
                       requestAnimationFrame(() => requestAnimationFrame(() => done()));",
            "args": []
        });
        self.call(reqwest::Method::POST, "/execute/async", Some(settle))
            .expect("wait for the page to paint");
        let value = self
            .call(reqwest::Method::GET, "/screenshot", None)
            .expect("take a screenshot");
        let encoded = value.as_str().expect("the screenshot is a base64 string");
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("decode the screenshot")
    }

    /// Polls `check` until it succeeds; after a timeout, panics naming `what` and the last
    /// thing `check` saw.
    fn wait_for<T>(&self, what: &str, mut check: impl FnMut(&Session) -> Result<T, String>) -> T {
        let deadline = Instant::now() + Self::WAIT_TIMEOUT;
        loop {
            match check(self) {
                Ok(found) => return found,
                Err(last) if Instant::now() >= deadline => panic!(
                    "timed out after {:?} waiting for {what}: {last}",
                    Self::WAIT_TIMEOUT
                ),
                Err(_) => sleep(Duration::from_millis(200)),
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self
            .http
            .delete(&self.base)
            .timeout(Duration::from_secs(10))
            .send();
    }
}
