//! The window over a long use: `PD_SOAK_MINUTES` (20 in `make bench`; 0 skips it) of scripted
//! use, sampling the resident memory of WebKit's web process and of the app every minute.
//! Target: the web process's RSS at the end ≤ 1.2× its RSS after the first minute.
//!
//! The data dir is seeded before the launch (a Stripe processor, the 30 fixtures, two
//! requests). In the window the receiver is moved to a free port from Settings; then each round
//! the bench POSTs four new signed events to the app's own receiver (so every open screen gets
//! its live updates) and walks every screen as a user would: the Dashboard and its chart, the
//! Activity Log with a filter typed and cleared and an event's drawer opened and closed, a
//! subject's page, a request's page, the processor page, Deliveries, Reports and Settings. The
//! events use 40 customer emails, so the data grows as a shop's would (more events, the same
//! people), not by a new subject per event.
//!
//! To find what grows, one variable at a time: `PD_SOAK_SCRIPT` (one part of a round, see
//! `Script`), `PD_SOAK_SCREENS` (some screens only), `PD_SOAK_PAUSE_MS` (a pause on each screen:
//! a user's pace), `PD_SOAK_REPLACE` (navigate with `history.replaceState`, adding no history
//! entries). Results and what they showed: docs/benchmarks.md, "The window over a long use".

use std::fs;
use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support;
use crate::webdriver::{self, Session, TauriDriver};

/// One minute's sample.
struct Sample {
    minute: u64,
    rounds: u64,
    events: u64,
    web_kib: u64,
    /// Of `web_kib`, anonymous memory (the JS heap, WebKit's caches, malloc).
    web_anon_kib: u64,
    app_kib: u64,
    dom_nodes: u64,
    /// Screens left more than 20 screens ago, and how many of them are still alive.
    screens_left: u64,
    screens_alive: u64,
}

/// What each round does: `PD_SOAK_SCRIPT` = `full` (the default), or one part of it, to find
/// what grows: `screens` (no events), `events` (the Dashboard left open, events arriving) or
/// `idle` (the Dashboard left open, nothing happening), or `ipc` (the Dashboard left open and
/// the commands a round of screens calls, called from the page without rendering anything).
struct Script {
    name: String,
    events: bool,
    screens: bool,
    ipc: bool,
}

impl Script {
    fn from_env() -> Script {
        let name = std::env::var("PD_SOAK_SCRIPT").unwrap_or_else(|_| "full".to_owned());
        let (events, screens, ipc) = match name.as_str() {
            "full" => (true, true, false),
            "screens" => (false, true, false),
            "events" => (true, false, false),
            "idle" => (false, false, false),
            "ipc" => (false, false, true),
            other => panic!("PD_SOAK_SCRIPT={other:?}: use full, screens, events, idle or ipc"),
        };
        Script {
            name,
            events,
            screens,
            ipc,
        }
    }
}

pub fn run(minutes: u64, out_dir: &Path) {
    let script = Script::from_env();
    let data_dir = tempfile::tempdir().expect("create a data dir");
    let dir = data_dir.path();
    let (processor, path) = support::add_stripe(dir);
    {
        let server = support::Server::start(dir);
        for f in support::fixtures() {
            let (status, body) = support::post_signed(server.addr, &path, &f.body);
            assert_eq!(status, 200, "{} was refused: {body}", f.file);
        }
        server.stop();
    }
    let mut request_ids = Vec::new();
    for (kind, email) in [
        ("access", "soak-1@example.com"),
        ("erasure", "soak-2@example.com"),
    ] {
        let r = support::cli_json(dir, &["dsr", "new", kind, "--email", email], None);
        request_ids.push(r["id"].as_i64().expect("a request id"));
    }

    let driver = TauriDriver::start(&out_dir.join("soak-tauri-driver.log"), &[]);
    let dir_arg = dir.to_str().expect("a UTF-8 temp path").to_owned();
    let s = Session::create(&driver, support::bin(), &["--data-dir", &dir_arg]);
    s.wait_for_text("#main h1", "Dashboard");
    let port = webdriver::receiver_on_free_port(&s);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let web = web_process_of(&dir_arg).expect("WebKit's web process of the app");
    let app = parent_of(web).expect("the app process");

    let screens = [
        "#/dashboard".to_owned(),
        "#/activity".to_owned(),
        "#/subjects".to_owned(),
        format!("#/requests/{}", request_ids[0]),
        "#/requests".to_owned(),
        format!("#/processors/{processor}"),
        "#/processors".to_owned(),
        "#/deliveries".to_owned(),
        "#/reports".to_owned(),
        "#/settings".to_owned(),
    ];
    // `PD_SOAK_SCREENS`: only the screens whose route starts with one of these (`activity,
    // reports`), to find which screen's use grows.
    let only = std::env::var("PD_SOAK_SCREENS").unwrap_or_default();
    let only: Vec<String> = only
        .split(',')
        .filter(|x| !x.trim().is_empty())
        .map(|x| format!("#/{}", x.trim()))
        .collect();
    let screens: Vec<String> = screens
        .into_iter()
        .filter(|h| only.is_empty() || only.iter().any(|o| h.starts_with(o.as_str())))
        .collect();
    // `PD_SOAK_PAUSE_MS` (0): a pause on each screen, for a user's pace instead of the
    // bench's (about 2 s a round of ten screens).
    let pause = Duration::from_millis(
        std::env::var("PD_SOAK_PAUSE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    );
    let mut samples = vec![sample(&s, 0, 0, 0, web, app)];
    let start = Instant::now();
    let end = start + Duration::from_secs(minutes * 60);
    let (mut rounds, mut events) = (0u64, 0u64);
    let mut next_sample = 1;
    eprintln!(
        "soak: {minutes} min of scripted use ({}), sampled every minute",
        script.name
    );
    while Instant::now() < end {
        if script.events {
            for _ in 0..4 {
                let body = event(events);
                let (status, answer) = support::post_signed(addr, &path, &body);
                assert_eq!(status, 200, "event {events} was refused: {answer}");
                events += 1;
            }
        }
        if script.screens {
            for hash in &screens {
                open(&s, hash);
                sleep(pause);
                match hash.as_str() {
                    "#/activity" => use_activity_log(&s),
                    "#/subjects" => {
                        click(&s, "#subjects-table tbody tr a");
                        wait_loaded(&s);
                    }
                    _ => {}
                }
            }
        } else if script.ipc {
            call_commands(&s);
        } else {
            // About the time a round of screens takes, on the screen left open.
            sleep(Duration::from_secs(2));
        }
        rounds += 1;
        if start.elapsed() >= Duration::from_secs(next_sample * 60) {
            samples.push(sample(&s, next_sample, rounds, events, web, app));
            next_sample += 1;
        }
    }
    drop(s);
    webdriver::wait_for_app_exit(&dir_arg, Duration::from_secs(15)).expect("the app exits");
    drop(driver);
    report(minutes, &script.name, &samples);
}

fn sample(s: &Session, minute: u64, rounds: u64, events: u64, web: u32, app: u32) -> Sample {
    let dom_nodes = s
        .execute(
            "return document.getElementsByTagName('*').length",
            json!([]),
        )
        .ok()
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    let left = s
        .execute(
            "const l = window.__soakLeft ?? []; \
             const old = l.slice(0, Math.max(0, l.length - 20)); \
             return [old.length, old.filter((r) => r.deref() !== undefined).length];",
            json!([]),
        )
        .unwrap_or(json!([0, 0]));
    let screens_left = left[0].as_u64().unwrap_or(0);
    let screens_alive = left[1].as_u64().unwrap_or(0);
    let x = Sample {
        minute,
        rounds,
        events,
        web_kib: status_kib(web, "VmRSS").expect("the web process is running"),
        web_anon_kib: status_kib(web, "RssAnon").expect("the web process is running"),
        app_kib: status_kib(app, "VmRSS").expect("the app is running"),
        dom_nodes,
        screens_left,
        screens_alive,
    };
    eprintln!(
        "minute {:>2}: {:>4} rounds, {:>5} events, web {:>6.1} MiB ({:.1} anonymous), \
         app {:>6.1} MiB, {} DOM nodes, {} of {} screens left still alive",
        x.minute,
        x.rounds,
        x.events,
        mib(x.web_kib),
        mib(x.web_anon_kib),
        mib(x.app_kib),
        x.dom_nodes,
        x.screens_alive,
        x.screens_left
    );
    x
}

/// A `customer.updated`-style event for one of 40 customers (unique id, signed on send).
fn event(n: u64) -> Vec<u8> {
    let who = n % 40;
    let kind = if n.is_multiple_of(3) {
        "customer.updated"
    } else {
        "customer.created"
    };
    serde_json::to_vec(&json!({
        "id": format!("evt_soak_{n:08}"),
        "object": "event",
        "type": kind,
        "created": support::now(),
        "livemode": false,
        "data": {"object": {
            "id": format!("cus_soak{who:04}"),
            "object": "customer",
            "email": format!("soak-{who}@example.com"),
            "name": format!("Soak Customer {who}"),
        }}
    }))
    .expect("serialise an event")
}

/// Opens a screen. The heading of the screen left behind, when it is built for one visit (not
/// a sidebar screen, which stays built: ui/src/lib/screen.svelte.ts), is kept in a `WeakRef`:
/// a sample counts how many of the last 500 screens left, but more than 20 ago, are still
/// alive (a detached tree that something still holds), which tells a leak in the page from
/// the engine's own growth.
fn open(s: &Session, hash: &str) {
    s.execute(
        "const h = document.querySelector('#main h1'); \
         const left = (window.__soakLeft ??= []); \
         if (h && !h.closest('[data-kept]')) left.push(new WeakRef(h)); \
         if (left.length > 500) left.splice(0, left.length - 500); \
         if (arguments[1]) { \
           history.replaceState(null, '', arguments[0]); \
           window.dispatchEvent(new HashChangeEvent('hashchange')); \
         } else { window.location.hash = arguments[0]; }",
        json!([hash, std::env::var_os("PD_SOAK_REPLACE").is_some()]),
    )
    .expect("open a screen");
    wait_loaded(s);
}

fn wait_loaded(s: &Session) {
    s.wait_for("the screen to load", |s| {
        let text = main_text(s)?;
        let loading = text.is_empty() || text.contains("Loading…");
        (!loading).then_some(()).ok_or("loading".to_owned())
    });
}

fn wait_main_contains(s: &Session, expected: &str) {
    s.wait_for(&format!("the screen to say {expected:?}"), |s| {
        let text = main_text(s)?;
        text.contains(expected)
            .then_some(())
            .ok_or(format!("the screen reads {text:?}"))
    });
}

fn main_text(s: &Session) -> Result<String, String> {
    let text = s.execute(
        "const m = document.getElementById('main'); return m ? m.innerText : ''",
        json!([]),
    )?;
    Ok(text.as_str().unwrap_or_default().to_owned())
}

/// The list commands a round of screens calls (each screen's first load), from the page.
fn call_commands(s: &Session) {
    let answer = s.execute_async(
        "const done = arguments[arguments.length - 1]; \
         const invoke = window.__TAURI_INTERNALS__.invoke; \
         const calls = []; \
         for (let i = 0; i < 4; i++) { \
           calls.push(invoke('dashboard', {}), invoke('processors_list', {}), \
             invoke('jobs_report', {}), invoke('subjects_search', { text: '' }), \
             invoke('requests_list', {}), invoke('deliveries_list', { limit: 200 }), \
             invoke('ropa_report', {})); \
         } \
         Promise.all(calls).then(() => done('ok'), (e) => done(String(e && e.message || e)));",
        json!([]),
    );
    assert_eq!(answer, Ok(json!("ok")), "the commands from the page");
}

/// A filter typed and cleared, then the first event's drawer opened and closed.
fn use_activity_log(s: &Session) {
    type_into(s, "#filter-subject", "soak-7");
    wait_main_contains(s, "matching the filters");
    type_into(s, "#filter-subject", "");
    s.wait_for("the filter to clear", |s| {
        let text = main_text(s)?;
        (!text.contains("matching the filters"))
            .then_some(())
            .ok_or("still filtered".to_owned())
    });
    click(s, "tr[data-event-id] .open-event");
    wait_for_count(s, "#activity-drawer", 1);
    click(s, "#activity-drawer header button");
    wait_for_count(s, "#activity-drawer", 0);
}

// The rounds drive the page with scripts that return no element. WebDriver's element commands
// (find, click, send keys) register each element they touch in WebKit's automation session,
// which holds it until the page is reloaded: in a single-page app that keeps every screen
// visited alive, and the bench would measure WebDriver rather than the app.

/// Clicks the first element matching `css`, as a user's click would (retrying until it exists).
fn click(s: &Session, css: &str) {
    s.wait_for(&format!("to click {css}"), |s| {
        let done = s.execute(
            "const e = document.querySelector(arguments[0]); if (!e) return false; \
             e.click(); return true;",
            json!([css]),
        )?;
        (done == json!(true))
            .then_some(())
            .ok_or(format!("no {css}"))
    });
}

/// Sets the value of the input matching `css` and sends the `input` event typing would.
fn type_into(s: &Session, css: &str, text: &str) {
    s.wait_for(&format!("to type into {css}"), |s| {
        let done = s.execute(
            "const e = document.querySelector(arguments[0]); if (!e) return false; \
             e.value = arguments[1]; e.dispatchEvent(new Event('input', { bubbles: true })); \
             return true;",
            json!([css, text]),
        )?;
        (done == json!(true))
            .then_some(())
            .ok_or(format!("no {css}"))
    });
}

fn wait_for_count(s: &Session, css: &str, n: u64) {
    s.wait_for(&format!("{n} of {css}"), |s| {
        let found = s.execute(
            "return document.querySelectorAll(arguments[0]).length",
            json!([css]),
        )?;
        (found == json!(n))
            .then_some(())
            .ok_or(format!("{found} of {css}"))
    });
}

/// The `WebKitWebProcess` whose parent was started with `arg` (the app's unique data dir).
fn web_process_of(arg: &str) -> Option<u32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .find(|&pid| {
                let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                comm.trim().starts_with("WebKitWebProces")
                    && parent_of(pid).is_some_and(|parent| has_arg(parent, arg))
            });
        if found.is_some() || Instant::now() >= deadline {
            return found;
        }
        sleep(Duration::from_millis(100));
    }
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn has_arg(pid: u32, arg: &str) -> bool {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| c.split(|b| *b == 0).any(|a| a == arg.as_bytes()))
        .unwrap_or(false)
}

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `RssAnon`).
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn report(minutes: u64, script: &str, samples: &[Sample]) {
    println!("\n## The window over {minutes} minutes of scripted use (`{script}`)\n");
    let version = Command::new("pkg-config")
        .args(["--modversion", "webkit2gtk-4.1"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    println!(
        "Release binary under Xvfb, WebKitGTK {version}. Each round: 4 new signed events to the \
         app's receiver, then every screen (the Activity Log with a filter and a drawer). RSS \
         is VmRSS from /proc.\n"
    );
    println!(
        "| minute | rounds | events sent | web process MiB | of it anonymous MiB | app MiB | DOM nodes | screens left alive |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for x in samples {
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {} | {} of {} |",
            x.minute,
            x.rounds,
            x.events,
            mib(x.web_kib),
            mib(x.web_anon_kib),
            mib(x.app_kib),
            x.dom_nodes,
            x.screens_alive,
            x.screens_left
        );
    }
    let first = samples.iter().find(|x| x.minute == 1);
    if let (Some(first), Some(last)) = (first, samples.last()) {
        let ratio = last.web_kib as f64 / first.web_kib.max(1) as f64;
        println!(
            "\nResult: web process {:.1} MiB after minute 1, {:.1} MiB after minute {}: \
             {ratio:.2}× ({} the ≤ 1.2× target).",
            mib(first.web_kib),
            mib(last.web_kib),
            last.minute,
            if ratio <= 1.2 { "meets" } else { "misses" }
        );
    }
}
