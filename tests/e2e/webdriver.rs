//! A small WebDriver client for the real app: `tauri-driver` (which starts WebKitWebDriver) and
//! one session, spoken to over reqwest blocking. Shared with `src-tauri/benches/startup.rs`.
//!
//! Element lookups return `Result<_, String>` so they can be retried inside `wait_for`; the
//! helpers that act (`click`, `send_keys`, …) retry on their own until `Session::WAIT_TIMEOUT`,
//! because an element can be missing, stale (Svelte re-rendered it) or not yet interactable.
#![allow(dead_code)]

use std::fs::{self, File};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// `target/e2e-screenshots/` in the repository (not `CARGO_TARGET_DIR`, which may be elsewhere).
pub fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e-screenshots");
    fs::create_dir_all(&dir).expect("create target/e2e-screenshots");
    dir
}

/// A running `tauri-driver`, stopped with SIGTERM on drop (SIGKILL would orphan
/// WebKitWebDriver, which then keeps its port).
pub struct TauriDriver {
    child: Child,
    port: u16,
    pub log: PathBuf,
    /// The app's XDG_CONFIG_HOME: the window-state plugin keeps the window's size there, so
    /// every run starts with the default size instead of the developer's last one.
    _config_home: tempfile::TempDir,
    /// The app's Downloads folder (XDG_DOWNLOAD_DIR in that config home's `user-dirs.dirs`).
    pub downloads: PathBuf,
}

impl TauriDriver {
    /// Starts tauri-driver on free ports, logging to `log`. The apps it launches inherit its
    /// environment plus `env`.
    pub fn start(log: &Path, env: &[(&str, &str)]) -> TauriDriver {
        assert!(
            std::env::var_os("DISPLAY").is_some(),
            "the e2e test needs an X display and DISPLAY is unset: run it through \
             `.ci/with-session.sh cargo test --test e2e` (or `make test`)"
        );
        let (port, native_port) = free_port_pair();
        let config_home = tempfile::tempdir().expect("create a temporary XDG_CONFIG_HOME");
        let downloads = config_home.path().join("Downloads");
        std::fs::write(
            config_home.path().join("user-dirs.dirs"),
            format!("XDG_DOWNLOAD_DIR=\"{}\"\n", downloads.display()),
        )
        .expect("write user-dirs.dirs");
        let out = File::create(log).expect("create the tauri-driver log");
        let err = out.try_clone().expect("clone the log file handle");
        let child = Command::new(tauri_driver_path())
            .args(["--port", &port.to_string()])
            .args(["--native-port", &native_port.to_string()])
            .env("XDG_CONFIG_HOME", config_home.path())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start tauri-driver: run `make setup` to install it");
        let mut driver = TauriDriver {
            child,
            port,
            log: log.to_path_buf(),
            _config_home: config_home,
            downloads,
        };
        // tauri-driver answers on its port before WebKitWebDriver listens on the native one; a
        // session requested in between fails with a connect error. Wait for both.
        driver.wait_until_listening(port, Duration::from_secs(15));
        driver.wait_until_listening(native_port, Duration::from_secs(15));
        driver
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn wait_until_listening(&mut self, port: u16, timeout: Duration) {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
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
            sleep(Duration::from_millis(50));
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

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

/// The WebDriver key code of Backspace.
const BACKSPACE: &str = "\u{E003}";

/// The D-Bus name the single-instance plugin holds while the app runs (identifier + suffix).
const SINGLE_INSTANCE_NAME: &str = "app.privacydesk.desktop.SingleInstance";

/// Waits until the app started with `arg` (e.g. its unique `--data-dir`) has exited and the bus
/// has released its single-instance name. A launch while the name is still held (even by an
/// exiting app) forwards its arguments there and exits instead of opening a window.
pub fn wait_for_app_exit(arg: &str, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    while process_with_arg_running(arg) {
        if Instant::now() >= deadline {
            return Err(format!(
                "the app started with {arg:?} is still running {timeout:?} after it was closed"
            ));
        }
        sleep(Duration::from_millis(20));
    }
    while single_instance_name_held() {
        if Instant::now() >= deadline {
            return Err(format!(
                "{SINGLE_INSTANCE_NAME} is still owned on D-Bus {timeout:?} after the app was closed"
            ));
        }
        sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Whether the session bus has an owner for `SINGLE_INSTANCE_NAME` (false without dbus-send).
fn single_instance_name_held() -> bool {
    Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            &format!("string:{SINGLE_INSTANCE_NAME}"),
        ])
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
        .unwrap_or(false)
}

/// Whether a live process has `arg` as one of its arguments (a zombie's command line is empty).
fn process_with_arg_running(arg: &str) -> bool {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| {
            fs::read(entry.path().join("cmdline"))
                .map(|cmdline| cmdline.split(|b| *b == 0).any(|a| a == arg.as_bytes()))
                .unwrap_or(false)
        })
}

/// Moves the app's receiver to a free port from the Settings screen, as a user would, and
/// waits until it listens there; returns the port. (8787 may be taken on a shared machine.)
pub fn receiver_on_free_port(s: &Session) -> u16 {
    let port = free_port();
    s.click("#nav-settings");
    s.wait_for_text("#main h1", "Settings");
    s.replace_text("#set-receiverPort", &port.to_string());
    s.click("#settings-save");
    s.wait_for_text("#settings-status", "Settings saved.");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Session::WAIT_TIMEOUT;
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the receiver did not listen on port {port} after it was saved"
        );
        sleep(Duration::from_millis(100));
    }
    port
}

/// A WebDriver session on the app, deleted on drop (which closes the app).
pub struct Session {
    http: reqwest::blocking::Client,
    base: String,
}

/// One element of the page (a W3C web element reference).
pub struct Element<'s> {
    session: &'s Session,
    id: String,
    css: String,
}

impl Session {
    pub const CREATE_TIMEOUT: Duration = Duration::from_secs(60);
    pub const WAIT_TIMEOUT: Duration = Duration::from_secs(20);
    const POLL: Duration = Duration::from_millis(100);

    /// Starts `app` with `args` through the driver and attaches to its window.
    pub fn create(driver: &TauriDriver, app: &str, args: &[&str]) -> Session {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("build the HTTP client");
        let capabilities = json!({
            "capabilities": {"alwaysMatch": {"tauri:options": {"application": app, "args": args}}}
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
    pub fn call(
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

    pub fn title(&self) -> Result<String, String> {
        let value = self.call(reqwest::Method::GET, "/title", None)?;
        value
            .as_str()
            .map(String::from)
            .ok_or_else(|| format!("title: {value}"))
    }

    /// The first element matching `css`.
    pub fn find(&self, css: &str) -> Result<Element<'_>, String> {
        let query = json!({"using": "css selector", "value": css});
        let element = self.call(reqwest::Method::POST, "/element", Some(query))?;
        self.element(css, &element)
    }

    /// Every element matching `css` (possibly none).
    pub fn find_all(&self, css: &str) -> Result<Vec<Element<'_>>, String> {
        let query = json!({"using": "css selector", "value": css});
        let found = self.call(reqwest::Method::POST, "/elements", Some(query))?;
        found
            .as_array()
            .ok_or_else(|| format!("{css}: elements: {found}"))?
            .iter()
            .map(|e| self.element(css, e))
            .collect()
    }

    fn element(&self, css: &str, reference: &Value) -> Result<Element<'_>, String> {
        // The W3C element reference: {"element-6066-11e4-a52e-4f735a6ec8": ID}.
        let id = reference
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{css}: unexpected element reference {reference}"))?;
        Ok(Element {
            session: self,
            id: id.to_owned(),
            css: css.to_owned(),
        })
    }

    /// The text of the first element matching `css`.
    pub fn text(&self, css: &str) -> Result<String, String> {
        self.find(css)?.text()
    }

    /// The value of the `data-*` or other attribute `name` of every element matching `css`.
    pub fn attributes(&self, css: &str, name: &str) -> Result<Vec<String>, String> {
        self.find_all(css)?
            .iter()
            .map(|e| e.attribute(name))
            .collect()
    }

    /// Clicks the first element matching `css`, retrying until it exists and can be clicked.
    pub fn click(&self, css: &str) {
        self.wait_for(&format!("to click {css}"), |s| s.find(css)?.click());
    }

    /// Clicks the enabled button whose visible text is `label`, as a user would.
    pub fn click_button(&self, label: &str) {
        let xpath = format!("//button[normalize-space()='{label}' and not(@disabled)]");
        self.wait_for(&format!("to click the button {label:?}"), |s| {
            let query = json!({"using": "xpath", "value": xpath});
            let found = s.call(reqwest::Method::POST, "/element", Some(query))?;
            s.element(&xpath, &found)?.click()
        });
    }

    /// Replaces the value of the input matching `css` with `text` by typing (Backspace over
    /// the old value, then `text`), so the page sees the same input events as from a user.
    pub fn replace_text(&self, css: &str, text: &str) {
        self.wait_for(&format!("{css} to hold {text:?}"), |s| {
            let input = s.find(css)?;
            let old = input.property("value")?;
            if old == text {
                return Ok(());
            }
            input.send_keys(&format!("{}{text}", BACKSPACE.repeat(old.chars().count())))?;
            Err(format!("{css} held {old:?}"))
        });
    }

    /// Types `text` into the first element matching `css`, retrying until it can take it.
    pub fn send_keys(&self, css: &str, text: &str) {
        self.wait_for(&format!("to type into {css}"), |s| {
            s.find(css)?.send_keys(text)
        });
    }

    /// Polls until the first element matching `css` has exactly `expected` as its text.
    pub fn wait_for_text(&self, css: &str, expected: &str) {
        self.wait_for(&format!("{css} to read {expected:?}"), |s| {
            let text = s.text(css)?;
            if text.trim() == expected {
                Ok(())
            } else {
                Err(format!("{css} reads {text:?}"))
            }
        });
    }

    /// Polls until the first element matching `css` contains `expected`; returns its text.
    pub fn wait_for_text_containing(&self, css: &str, expected: &str) -> String {
        self.wait_for(&format!("{css} to contain {expected:?}"), |s| {
            let text = s.text(css)?;
            if text.contains(expected) {
                Ok(text)
            } else {
                Err(format!("{css} reads {text:?}"))
            }
        })
    }

    /// Polls until exactly `n` elements match `css`.
    pub fn wait_for_count(&self, css: &str, n: usize) {
        self.wait_for(&format!("{n} elements matching {css}"), |s| {
            let found = s.find_all(css)?.len();
            if found == n {
                Ok(())
            } else {
                Err(format!("{found} match"))
            }
        });
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page; returns its value.
    pub fn execute(&self, script: &str, args: Value) -> Result<Value, String> {
        let body = json!({"script": script, "args": args});
        self.call(reqwest::Method::POST, "/execute/sync", Some(body))
    }

    /// Runs `script` in the page; it finishes by calling the last of `arguments` with a value.
    pub fn execute_async(&self, script: &str, args: Value) -> Result<Value, String> {
        let body = json!({"script": script, "args": args});
        self.call(reqwest::Method::POST, "/execute/async", Some(body))
    }

    /// A PNG of the window, taken once the page has painted its latest changes.
    pub fn screenshot_png(&self) -> Vec<u8> {
        self.try_screenshot_png()
            .unwrap_or_else(|e| panic!("take a screenshot: {e}"))
    }

    pub fn try_screenshot_png(&self) -> Result<Vec<u8>, String> {
        // Text can be in the DOM before it is painted: wait two animation frames first.
        self.execute_async(
            "const done = arguments[0]; \
             requestAnimationFrame(() => requestAnimationFrame(() => done()));",
            json!([]),
        )?;
        let value = self.call(reqwest::Method::GET, "/screenshot", None)?;
        let encoded = value
            .as_str()
            .ok_or_else(|| format!("the screenshot is not a base64 string: {value}"))?;
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| format!("decode the screenshot: {e}"))
    }

    /// Saves a screenshot as `target/e2e-screenshots/{name}`.
    pub fn save_screenshot(&self, name: &str) {
        let path = artifacts_dir().join(name);
        fs::write(&path, self.screenshot_png()).expect("write the screenshot");
        eprintln!("screenshot: {}", path.display());
    }

    /// Polls `check` until it succeeds; after `WAIT_TIMEOUT`, panics naming `what` and the last
    /// thing `check` saw.
    pub fn wait_for<T>(&self, what: &str, check: impl FnMut(&Session) -> Result<T, String>) -> T {
        self.wait_up_to(Self::WAIT_TIMEOUT, what, check)
    }

    /// `wait_for` with its own timeout.
    pub fn wait_up_to<T>(
        &self,
        timeout: Duration,
        what: &str,
        check: impl FnMut(&Session) -> Result<T, String>,
    ) -> T {
        self.poll_every(Self::POLL, timeout, what, check)
    }

    /// `wait_for` with its own timeout and pause between two checks.
    pub fn poll_every<T>(
        &self,
        pause: Duration,
        timeout: Duration,
        what: &str,
        mut check: impl FnMut(&Session) -> Result<T, String>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            match check(self) {
                Ok(found) => return found,
                Err(last) if Instant::now() >= deadline => {
                    panic!("timed out after {timeout:?} waiting for {what}: {last}")
                }
                Err(_) => sleep(pause),
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

impl Element<'_> {
    fn path(&self, rest: &str) -> String {
        format!("/element/{}{rest}", self.id)
    }

    pub fn text(&self) -> Result<String, String> {
        let text = self
            .session
            .call(reqwest::Method::GET, &self.path("/text"), None)?;
        text.as_str()
            .map(String::from)
            .ok_or_else(|| format!("{}: text: {text}", self.css))
    }

    /// The DOM property `name` as text (e.g. an input's current `value`).
    pub fn property(&self, name: &str) -> Result<String, String> {
        let value = self.session.call(
            reqwest::Method::GET,
            &self.path(&format!("/property/{name}")),
            None,
        )?;
        Ok(match value {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        })
    }

    /// The attribute `name`, or "" when it is absent.
    pub fn attribute(&self, name: &str) -> Result<String, String> {
        let value = self.session.call(
            reqwest::Method::GET,
            &self.path(&format!("/attribute/{name}")),
            None,
        )?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    pub fn click(&self) -> Result<(), String> {
        self.session
            .call(reqwest::Method::POST, &self.path("/click"), Some(json!({})))
            .map(drop)
            .map_err(|e| format!("{}: click: {e}", self.css))
    }

    pub fn send_keys(&self, text: &str) -> Result<(), String> {
        self.session
            .call(
                reqwest::Method::POST,
                &self.path("/value"),
                Some(json!({ "text": text })),
            )
            .map(drop)
            .map_err(|e| format!("{}: send keys: {e}", self.css))
    }
}
