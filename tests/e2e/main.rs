//! End to end: the real app window, driven over WebDriver through `tauri-driver`.
//!
//! Needs an X display, `tauri-driver` and `WebKitWebDriver` (all from `make setup`). Run it as
//! `make test` does: `.ci/with-session.sh cargo test --test e2e`. Artifacts (screenshots and
//! tauri-driver's logs) go to `target/e2e-screenshots/` in the repository.
#![cfg(target_os = "linux")]

mod access_review;
mod autostart;
mod backups;
mod reports;
mod requests;
#[path = "../integration/support.rs"]
mod support;
mod webdriver;
mod whole_job;

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpStream};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use privacy_desk_core::secrets::Secret;
use privacy_desk_core::stripe::signature;
use serde_json::{json, Value};

use support::Fixture;
use webdriver::{artifacts_dir, Session, TauriDriver};

/// `privacy-desk`, as users start it: with no subcommand it becomes `privacy-desk-gui`.
fn app() -> &'static str {
    support::bin()
}

/// One app at a time: it is a single instance per D-Bus session (a second launch would only
/// focus the first window and exit).
pub(crate) static ONE_APP_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The app on a fresh data dir, under its own tauri-driver. Dropped in order: the session
/// (closes the window), tauri-driver, then (after the app has exited) the data dir.
struct RunningApp {
    session: Session,
    driver: TauriDriver,
    data_dir: tempfile::TempDir,
    name: String,
    _one_at_a_time: MutexGuard<'static, ()>,
}

impl RunningApp {
    fn launch(name: &str) -> RunningApp {
        Self::launch_with_env(name, &[])
    }

    /// Launches the app with extra environment variables (e.g. a GTK theme).
    fn launch_with_env(name: &str, env: &[(&str, &str)]) -> RunningApp {
        let data_dir = tempfile::tempdir().expect("create a temporary data dir");
        Self::launch_on(name, data_dir, env)
    }

    /// Launches the app on an already seeded data dir.
    fn launch_on(name: &str, data_dir: tempfile::TempDir, env: &[(&str, &str)]) -> RunningApp {
        let one_at_a_time = ONE_APP_AT_A_TIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let log = artifacts_dir().join(format!("tauri-driver-{name}.log"));
        let driver = TauriDriver::start(&log, env);
        let dir = data_dir.path().to_str().expect("a UTF-8 temp path");
        let session = Session::create(&driver, app(), &["--data-dir", dir]);
        RunningApp {
            session,
            driver,
            data_dir,
            name: name.to_owned(),
            _one_at_a_time: one_at_a_time,
        }
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        // The session and the driver drop after this; wait for the app itself in the next test.
        if std::thread::panicking() {
            // What the window showed when the test failed.
            let path = artifacts_dir().join(format!("failed-{}.png", self.name));
            if let Ok(png) = self.session.try_screenshot_png() {
                let _ = std::fs::write(&path, png);
                eprintln!("screenshot of the failure: {}", path.display());
            }
        }
        let dir = self.data_dir.path().to_string_lossy().into_owned();
        let _ = self.session.call(reqwest::Method::DELETE, "", None);
        if let Err(e) = webdriver::wait_for_app_exit(&dir, Duration::from_secs(15)) {
            if std::thread::panicking() {
                eprintln!("{e}");
            } else {
                panic!("{e}");
            }
        }
    }
}

#[test]
fn first_screen_shows_the_title_and_the_version() {
    let app = RunningApp::launch("first-screen");
    let session = &app.session;

    session.wait_for("the window title to contain \"Privacy Desk\"", |s| {
        let title = s.title()?;
        if title.contains("Privacy Desk") {
            Ok(())
        } else {
            Err(format!("the title is {title:?}"))
        }
    });
    session.wait_for_text(
        "#app-version",
        &format!("Version {}", env!("CARGO_PKG_VERSION")),
    );
    session.save_screenshot("home.png");
}

/// The dark theme follows the desktop's (here GTK's dark Adwaita variant): the page sees
/// `prefers-color-scheme: dark` and paints with the dark palette.
#[test]
fn dark_desktop_theme_gives_the_dark_palette() {
    let app = RunningApp::launch_with_env("dark", &[("GTK_THEME", "Adwaita:dark")]);
    let s = &app.session;
    s.wait_for_text(
        "#app-version",
        &format!("Version {}", env!("CARGO_PKG_VERSION")),
    );
    s.wait_for_text("#main h1", "Dashboard");
    let dark = s
        .execute(
            "return matchMedia('(prefers-color-scheme: dark)').matches",
            json!([]),
        )
        .expect("ask the page for its color scheme");
    assert_eq!(
        dark,
        Value::Bool(true),
        "GTK_THEME=Adwaita:dark should mean dark"
    );
    // --bg in app.css: #141619 in the dark palette.
    let background = s
        .execute(
            "return getComputedStyle(document.documentElement).backgroundColor",
            json!([]),
        )
        .expect("read the page background");
    assert_eq!(background, json!("rgb(20, 22, 25)"), "the dark background");
    s.save_screenshot("dashboard-dark.png");
}

/// The whole story of issue 3: onboard Stripe through the wizard, receive the fixture corpus
/// live, filter the log, open a subject, and troubleshoot a forged delivery.
#[test]
fn onboard_stripe_then_follow_events_through_every_screen() {
    let app = RunningApp::launch("story");
    let s = &app.session;
    let fixtures = support::fixtures();
    s.wait_for_text(
        "#app-version",
        &format!("Version {}", env!("CARGO_PKG_VERSION")),
    );

    // Dashboard, before anything is set up: empty states that say what to do.
    s.wait_for_text("#main h1", "Dashboard");
    s.wait_for_text_containing("#main", "No processors yet — add Stripe to start");
    s.save_screenshot("dashboard-empty.png");

    // Settings: move the receiver to a free port (8787 may be taken on a shared machine).
    let port = webdriver::free_port();
    s.click("#nav-settings");
    s.wait_for_text("#main h1", "Settings");
    s.wait_for_text("#data-dir", &app.data_dir.path().display().to_string());
    s.replace_text("#set-receiverPort", &port.to_string());
    s.click("#settings-save");
    s.wait_for_text("#settings-status", "Settings saved.");
    wait_until_listening(port);
    s.save_screenshot("settings.png");

    // Processors → Add Stripe: the wizard, step by step.
    s.click("#nav-processors");
    s.wait_for_text_containing("#main", "No processors yet — add Stripe to start");
    s.click("#add-stripe");
    s.wait_for_text("#wizard-step-title", "Choose the processor");
    wizard_next(s, "What Stripe processes");
    s.wait_for_text_containing("#main", "Customer records");
    wizard_next(s, "Restricted API key");
    wizard_next(s, "Webhook endpoint"); // "Skip for now" creates the processor
    let webhook_url = s.wait_for("#webhook-url to show a URL", |s| {
        let url = s.text("#webhook-url")?;
        if url.starts_with("http") {
            Ok(url.trim().to_owned())
        } else {
            Err(format!("#webhook-url reads {url:?}"))
        }
    });
    let expected_prefix = format!("http://127.0.0.1:{port}/webhooks/stripe/");
    assert!(
        webhook_url.starts_with(&expected_prefix),
        "the webhook URL {webhook_url:?} should use the receiver port from the settings \
         ({expected_prefix}…)"
    );
    let (addr, path) = split_webhook_url(&webhook_url);
    s.save_screenshot("wizard-webhook.png");
    wizard_next(s, "Signing secret");
    s.send_keys("#signing-secret", support::SECRET);
    wizard_next(s, "Test event"); // "Save secret"
    s.wait_for_text_containing("#wizard-status", "Waiting for a test event");

    // "Send test event": one signed fixture over real HTTP turns the wizard green.
    let test_event = fixture(&fixtures, "02-customer.created.json");
    let (status, body) = support::post_signed(addr, &path, &test_event.body);
    assert_eq!(status, 200, "the test event was refused: {body}");
    s.wait_for_text_containing("#wizard-status", "Interconnected");
    s.save_screenshot("wizard.png");
    s.click("#wizard-next"); // "Done" → back to Processors
    s.wait_for_text("#main h1", "Processors");
    s.wait_for_text_containing("#processors-table", "Interconnected");
    s.save_screenshot("processors.png");

    // Activity log: all 30 fixtures appear live, without a reload.
    s.click("#nav-activity");
    s.wait_for_text("#main h1", "Processing Activity Log");
    s.wait_for_text("#activity-total", "1");
    s.execute("window.__e2eSamePage = true", json!([]))
        .expect("mark the page");
    for f in &fixtures {
        let (status, body) = support::post_signed(addr, &path, &f.body);
        assert_eq!(status, 200, "{} was refused: {body}", f.file);
    }
    s.wait_for_text("#activity-total", "30");
    s.wait_for_count("tr[data-event-id]", 30);
    assert_eq!(
        s.execute("return window.__e2eSamePage === true", json!([])),
        Ok(Value::Bool(true)),
        "the Activity Log must update in place, not by reloading the page"
    );
    assert_eq!(
        shown_event_ids(s, "tr[data-event-id]"),
        event_ids(&fixtures, |_| true),
        "the Activity Log shows exactly the fixtures' events"
    );
    s.save_screenshot("activity.png");

    // The event drawer for people: the fixture charge's 4500 usd is "$45.00"; the refund
    // shows its refunded amount before and after (previous_attributes), and what was not kept.
    // In the window's own locale ("$45.00" in en-US, "US$45.00" in en-GB, "45,00 $" in fr).
    let money = |amount: u32, currency: &str| -> String {
        let script = "return new Intl.NumberFormat(undefined, \
                      {style: 'currency', currency: arguments[1]}).format(arguments[0])";
        let v = s.execute(script, json!([amount, currency]));
        match v {
            // WebDriver reads no-break spaces as spaces.
            Ok(Value::String(t)) => t.replace(['\u{a0}', '\u{202f}'], " "),
            other => panic!("Intl in the window: {other:?}"),
        }
    };
    let (usd45, gbp0, gbp89) = (money(45, "USD"), money(0, "GBP"), money(89, "GBP"));
    assert!(usd45.contains('$') && usd45.contains("45"), "{usd45}");
    s.click(r#"tr[data-event-id="evt_3SRzkwLw7QmR2xNc4H9wVvWu"] .open-event"#);
    s.wait_for_text(r#"#activity-drawer [data-field="amount"]"#, &usd45);
    let drawer = s.text("#activity-drawer").expect("the drawer's text");
    assert!(
        !drawer.contains("4500") && !drawer.contains("usd"),
        "the drawer shows developer data: {drawer}"
    );
    s.click("#activity-drawer header button");
    s.wait_for_count("#activity-drawer", 0);
    s.click(r#"tr[data-event-id="evt_3STHlbLw7QmR2xNcBDYxHXMJ"] .open-event"#);
    s.wait_for_text(r#"#activity-drawer [data-field="amount"]"#, &gbp89);
    let refunded =
        s.wait_for_text_containing(r#"#activity-drawer [data-field="amount_refunded"]"#, &gbp89);
    assert!(
        refunded.starts_with(&gbp0) && refunded.contains('→'),
        "the refund's before and after: {refunded}"
    );
    s.wait_for_text_containing("#not-kept", "did not keep");
    assert_eq!(
        s.attributes("#activity-drawer code.id", "data-id")
            .expect("the drawer's ids")
            .iter()
            .filter(|i| i.as_str() == "evt_3STHlbLw7QmR2xNcBDYxHXMJ")
            .count(),
        1,
        "the event id is shown once"
    );
    s.save_screenshot("activity-drawer.png");
    s.execute(
        "const d = document.querySelector('#activity-drawer'); d.scrollTop = d.scrollHeight",
        json!([]),
    )
    .expect("scroll the drawer");
    s.save_screenshot("activity-drawer-end.png");
    s.click("#activity-drawer header button");
    s.wait_for_count("#activity-drawer", 0);

    // Filter by type, with a wildcard group.
    s.send_keys("#filter-type", "customer.*");
    s.wait_for_text("#activity-total", "11");
    s.wait_for_count("tr[data-event-id]", 11);
    assert_eq!(
        shown_event_ids(s, "tr[data-event-id]"),
        event_ids(&fixtures, |m| m["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("customer."))),
        "customer.* shows the customer and subscription events"
    );
    s.save_screenshot("activity-filtered.png");

    // Filter by data subject.
    s.click_button("Clear filters");
    s.wait_for_text("#activity-total", "30");
    s.send_keys("#filter-subject", "bruno.keller@example.net");
    s.wait_for_text("#activity-total", "7");
    s.wait_for_count("tr[data-event-id]", 7);
    assert_eq!(
        shown_event_ids(s, "tr[data-event-id]"),
        event_ids(&fixtures, |m| m["subject_email"]
            == "bruno.keller@example.net"),
        "Bruno's events"
    );
    s.save_screenshot("activity-subject.png");

    // Data subjects: Alice is found by her old email; her timeline spans the change.
    s.click("#nav-subjects");
    s.wait_for_text("#main h1", "Data subjects");
    s.wait_for_count("[data-subject-email]", 5);
    s.save_screenshot("subjects.png");
    s.send_keys("#subject-search", "alice.martin@example.com");
    s.wait_for(
        "the search to find only Alice, under her current email",
        |s| {
            let found = s.attributes("[data-subject-email]", "data-subject-email")?;
            if found == ["a.martin@example.net"] {
                Ok(())
            } else {
                Err(format!("rows: {found:?}"))
            }
        },
    );
    s.click("[data-subject-email=\"a.martin@example.net\"] a");
    s.wait_for_text("#main h1", "Alice Martin");
    s.wait_for_count("#subject-timeline li[data-event-id]", 4);
    assert_eq!(
        shown_event_ids(s, "#subject-timeline li[data-event-id]"),
        event_ids(&fixtures, |m| matches!(
            m["subject_email"].as_str(),
            Some("alice.martin@example.com" | "a.martin@example.net")
        )),
        "Alice's timeline holds her events from before and after her email change"
    );
    let history = s.text("#s-emails + .emails").expect("the email history");
    assert!(
        history.contains("alice.martin@example.com") && history.contains("a.martin@example.net"),
        "the email history lists both addresses: {history:?}"
    );
    s.save_screenshot("subject.png");

    // A forged request (signed with another secret) shows on Deliveries with its fix.
    let forged = fixture(&fixtures, "05-customer.created.json");
    let wrong = signature::sign(
        &forged.body,
        &Secret::new("whsec_not_the_secret_stripe_gave_us"),
        support::now(),
    );
    let (status, body) = support::post(addr, &path, &forged.body, &[("Stripe-Signature", &wrong)]);
    assert_eq!(status, 400, "a forged signature must be refused: {body}");
    s.click("#nav-deliveries");
    s.wait_for_text("#main h1", "Deliveries");
    let rejected = "#deliveries-table tr[data-status=\"400\"]";
    s.wait_for_count(rejected, 1);
    let row = s.text(rejected).expect("the rejected delivery");
    assert!(
        row.contains(
            "copy the endpoint's signing secret (whsec_…) from Stripe into Privacy Desk again"
        ),
        "the 400 row shows the fix hint: {row:?}"
    );
    assert_eq!(
        s.attributes("#deliveries-table tbody tr", "data-status")
            .expect("delivery rows")
            .first()
            .map(String::as_str),
        Some("400"),
        "rejected deliveries come first"
    );
    // The test event, 30 fixtures (one of them a duplicate of the test event) and the forgery.
    s.wait_for_text_containing(
        "#main p[role=\"status\"]",
        "32 deliveries shown, 1 rejected",
    );
    s.save_screenshot("deliveries.png");

    // Dashboard, set up: the receiver on our port, Stripe interconnected, one rejection.
    s.click("#nav-dashboard");
    s.wait_for_text("#main h1", "Dashboard");
    s.wait_for_text_containing("#main", &format!("Listening on http://127.0.0.1:{port}"));
    s.wait_for_text_containing("li[data-processor-id]", "Interconnected");
    s.wait_for_text("#rejected-h + .big", "1");
    s.save_screenshot("dashboard.png");

    // Background work: the scheduler the window started has run the catch-up once (no Stripe
    // key here, so it says so), and every job is listed by its title.
    s.wait_for_count("#jobs-table tbody tr[data-job]", 7);
    let jobs = s.wait_for_text_containing("#jobs-card", "Catch up with Stripe");
    for title in [
        "Customer lookups and thin events",
        "Retention purges",
        "Deliveries log cap",
        "Erasures waiting to finish",
        "Daily backup",
    ] {
        assert!(
            jobs.contains(title),
            "the jobs card lists {title:?}: {jobs:?}"
        );
    }
    assert!(
        !jobs.contains("stripe_pending"),
        "job ids are not labels: {jobs:?}"
    );
    let catch_up = s.wait_for_text_containing(
        "tr[data-job=\"catch_up\"]",
        "no Stripe processor with an API key",
    );
    assert!(
        catch_up.contains("ago") || catch_up.contains("just now"),
        "the catch-up ran at start: {catch_up:?}"
    );
    // The corpus holds a thin event, and this processor has no API key: say so, with the fix.
    let waiting = s.wait_for_text_containing("[data-waiting-for]", "for a Stripe API key");
    assert!(
        waiting.contains("add a Stripe restricted key"),
        "the waiting notice names the fix: {waiting:?}"
    );
    s.execute(
        "document.getElementById('jobs-card').scrollIntoView({block: 'start'})",
        json!([]),
    )
    .expect("scroll to the jobs card");
    s.save_screenshot("dashboard-jobs.png");
}

/// Clicks the wizard's primary button and waits for the step titled `next_title`.
fn wizard_next(s: &Session, next_title: &str) {
    s.click("#wizard-next");
    s.wait_for_text("#wizard-step-title", next_title);
}

fn fixture<'a>(fixtures: &'a [Fixture], file: &str) -> &'a Fixture {
    fixtures
        .iter()
        .find(|f| f.file == file)
        .unwrap_or_else(|| panic!("no fixture {file}"))
}

/// The event ids of the fixtures whose manifest entry matches.
fn event_ids(fixtures: &[Fixture], keep: impl Fn(&Value) -> bool) -> BTreeSet<String> {
    fixtures
        .iter()
        .filter(|f| keep(&f.manifest))
        .map(|f| {
            f.manifest["event_id"]
                .as_str()
                .expect("event_id")
                .to_owned()
        })
        .collect()
}

/// The `data-event-id`s of the elements matching `css`.
fn shown_event_ids(s: &Session, css: &str) -> BTreeSet<String> {
    s.attributes(css, "data-event-id")
        .unwrap_or_else(|e| panic!("read the event ids of {css}: {e}"))
        .into_iter()
        .collect()
}

/// `http://127.0.0.1:PORT/path?query` → the socket address and the request target.
fn split_webhook_url(url: &str) -> (SocketAddr, String) {
    let parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("parse {url:?}: {e}"));
    let addr = parsed
        .socket_addrs(|| None)
        .ok()
        .and_then(|a| a.into_iter().next())
        .unwrap_or_else(|| panic!("no address in {url:?}"));
    let target = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_owned(),
    };
    (addr, target)
}

/// Polls until something accepts connections on 127.0.0.1:`port` (the restarted receiver).
fn wait_until_listening(port: u16) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Session::WAIT_TIMEOUT;
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the receiver did not listen on port {port} within {:?} after the port was saved",
            Session::WAIT_TIMEOUT
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
