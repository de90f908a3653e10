//! Issue 6 in the real window: the organisation profile, manual and webhook processors added
//! from the Processors screen (a signed event reaches the webhook one), the Stripe payments
//! activity edited on Reports, a checklist step shown on the Dashboard, and the RoPA exported
//! (through the CLI on the app's data dir: WebDriver cannot drive the native save dialog).

use std::path::Path;
use std::process::Command;

use calamine::{open_workbook, Data, Range, Reader, Xlsx};
use privacy_desk_core::secrets::Secret;
use privacy_desk_core::webhook::{self, SignatureEncoding, WebhookConfig};
use serde_json::{json, Value};

use super::{app, split_webhook_url, support, wait_until_listening, RunningApp};
use crate::webdriver::{self, Session};

const CONTROLLER: &str = "Atelier Dupré SARL";
const DPO: &str = "Claire Martin";
const RETENTION: &str =
    "E2E: card payment records kept 6 years after the end of the financial year";
const WEBHOOK_SECRET: &str = "qb-shared-secret-e2e";

#[test]
fn organisation_processors_activity_edit_and_ropa_export() {
    let app = RunningApp::launch("reports");
    let s = &app.session;
    let dir = app.data_dir.path();
    s.wait_for_text(
        "#app-version",
        &format!("Version {}", env!("CARGO_PKG_VERSION")),
    );
    s.wait_for_text("#main h1", "Dashboard");

    // Settings: the organisation profile (and a free receiver port).
    let port = webdriver::free_port();
    s.click("#nav-settings");
    s.wait_for_text("#main h1", "Settings");
    s.replace_text("#set-orgName", CONTROLLER);
    s.replace_text("#set-orgEmail", "contact@atelier-dupre.example");
    s.replace_text("#set-orgAddress", "12 rue des Lilas, 69003 Lyon, France");
    s.replace_text("#set-dpoName", DPO);
    s.replace_text("#set-dpoEmail", "dpo@atelier-dupre.example");
    s.replace_text("#set-receiverPort", &port.to_string());
    s.click("#settings-save");
    s.wait_for_text("#settings-status", "Settings saved.");
    wait_until_listening(port);

    // Stripe, added beforehand through the CLI on the app's data dir.
    cli(dir, &["processor", "add", "stripe", "--name", "Stripe"]);

    // Processors: a manual one and a generic webhook one, from the GUI.
    s.click("#nav-processors");
    s.wait_for_text("#main h1", "Processors");
    s.wait_for_count("#processors-table tbody tr", 1);
    s.click("#add-manual");
    s.send_keys("#manual-name", "Payroll bureau");
    s.click("#add-manual-save");
    s.wait_for_text_containing("#processor-added", "Payroll bureau added");
    s.wait_for_count("#processors-table tbody tr", 2);

    s.click("#add-webhook");
    s.send_keys("#wh-name", "QuickBooks");
    s.send_keys("#wh-signing_secret", WEBHOOK_SECRET);
    s.replace_text("#wh-signature_header", "X-QB-Signature");
    s.wait_for("base64 to be chosen", |s| {
        s.execute(
            "const e = document.getElementById('wh-signature_encoding'); \
             e.value = 'base64'; e.dispatchEvent(new Event('change', {bubbles: true})); \
             return e.value",
            json!([]),
        )
        .and_then(|v| (v == json!("base64")).then_some(()).ok_or(format!("{v}")))
    });
    s.send_keys("#wh-signature_prefix", "sha256=");
    s.send_keys("#wh-id_pointer", "/id");
    s.send_keys("#wh-type_pointer", "/type");
    s.send_keys("#wh-email_pointer", "/customer/email");
    s.send_keys("#wh-name_pointer", "/customer/name");
    // QuickBooks signs only the body: the timestamp (on by default) is turned off.
    s.click("#wh-timestamp");
    s.click("#add-webhook-save");
    let url = s.wait_for("#added-webhook-url to show a URL", |s| {
        // textContent: WebDriver's element text of this <code> can read empty.
        let url = s.execute(
            "return document.getElementById('added-webhook-url')?.textContent ?? ''",
            json!([]),
        )?;
        let url = url.as_str().unwrap_or_default();
        if url.starts_with("http") {
            Ok(url.trim().to_owned())
        } else {
            Err(format!("#added-webhook-url reads {url:?}"))
        }
    });
    let prefix = format!("http://127.0.0.1:{port}/webhooks/custom/");
    assert!(
        url.starts_with(&prefix),
        "{url:?} should start with {prefix}"
    );
    s.wait_for_count("#processors-table tbody tr", 3);
    let table = s.text("#processors-table").expect("the processors table");
    for expected in [
        "Stripe",
        "Payroll bureau",
        "Manual",
        "RoPA only",
        "QuickBooks",
        "Webhook",
    ] {
        assert!(table.contains(expected), "{expected:?} in {table:?}");
    }
    assert_eq!(
        s.find_all("#processors-table tbody .url button")
            .expect("copy buttons")
            .len(),
        2,
        "Stripe and QuickBooks have a webhook URL with a copy button"
    );

    // A signed event to the URL the screen showed is accepted with the GUI's configuration.
    let cfg = WebhookConfig {
        signature_header: "X-QB-Signature".into(),
        signature_encoding: SignatureEncoding::Base64,
        signature_prefix: "sha256=".into(),
        id_pointer: "/id".into(),
        type_pointer: "/type".into(),
        time_pointer: None,
        email_pointer: "/customer/email".into(),
        name_pointer: Some("/customer/name".into()),
        timestamp: None,
    };
    let body = br#"{"id":"qb_evt_1","type":"invoice.created","customer":{"email":"e2e.buyer@example.com","name":"E2E Buyer"}}"#;
    let sig = webhook::sign(&cfg, &Secret::new(WEBHOOK_SECRET), body);
    let (addr, path) = split_webhook_url(&url);
    let (status, reply) = support::post(addr, &path, body, &[("X-QB-Signature", &sig)]);
    assert_eq!(
        status, 200,
        "the webhook processor refused a signed event: {reply}"
    );
    s.wait_for_text_containing("#processors-table tbody tr:last-child", "Interconnected");
    s.execute(
        "document.getElementById('processor-added').scrollIntoView({block: 'start'})",
        json!([]),
    )
    .expect("scroll");
    s.save_screenshot("processors-manual-webhook.png");

    // Reports: the controller, then the Stripe payments activity edited.
    s.click("#nav-reports");
    s.wait_for_text("#main h1", "Reports");
    let controller = s.wait_for_text_containing("#ropa-controller", CONTROLLER);
    assert!(controller.contains(DPO), "the DPO in {controller:?}");
    let id = s.wait_for("the Stripe payments activity", |s| {
        let v = s.execute(
            "const r = [...document.querySelectorAll('#ropa-activities tr[data-activity-id]')] \
               .find((r) => r.textContent.includes('Taking payments')); \
             return r ? r.dataset.activityId : null",
            json!([]),
        )?;
        v.as_str()
            .map(String::from)
            .ok_or(format!("no such row: {v}"))
    });
    s.click(&format!("[data-edit=\"{id}\"]"));
    s.wait_for_count("#activity-form", 1);
    s.replace_text("#act-retention", RETENTION);
    s.replace_text("#act-last_review", "2026-03-28");
    s.click("#activity-save");
    s.wait_for_count("#activity-form", 0);
    let row = s.wait_for_text_containing(&format!("tr[data-activity-id=\"{id}\"]"), RETENTION);
    // Dates read in the window's locale, like every date in the window.
    let last_review = local_day(s, 2026, 3, 28);
    assert!(
        row.contains(&last_review) && !row.contains("2026-03-28"),
        "the last review as {last_review:?} in {row:?}"
    );

    // A checklist step done on Reports…
    let step = "tr[data-step=\"stripe_terms_reviewed\"]";
    s.replace_text(&format!("{step} input"), "2026-03-27");
    s.click("[data-save-step=\"stripe_terms_reviewed\"]");
    s.wait_for_count(&format!("{step}.done"), 1);

    s.execute(
        "document.getElementById('acts-h').scrollIntoView({block: 'start'})",
        json!([]),
    )
    .expect("scroll");
    s.save_screenshot("reports.png");

    // …shows on the Dashboard's checklist card.
    s.click("#nav-dashboard");
    s.wait_for_text("#main h1", "Dashboard");
    s.wait_for_text_containing(
        "#dash-checklist [data-step=\"stripe_terms_reviewed\"]",
        &format!("Done {}", local_day(s, 2026, 3, 27)),
    );
    s.wait_for_text_containing("#dash-checklist [data-step=\"privacy_notice\"]", "Not done");
    s.execute(
        "document.getElementById('checklist-card').scrollIntoView({block: 'start'})",
        json!([]),
    )
    .expect("scroll");
    s.save_screenshot("dashboard-checklist.png");

    // The export holds the controller and the edited activity.
    let out = tempfile::tempdir().expect("a temporary dir");
    let file = out.path().join("ropa.xlsx");
    let file_arg = file.to_str().expect("a UTF-8 path");
    cli(
        dir,
        &["ropa", "export", "--format", "xlsx", "--out", file_arg],
    );
    let mut wb: Xlsx<_> = open_workbook(&file).expect("open the exported workbook");
    let sheet = wb
        .worksheet_range("Controller")
        .expect("the Controller sheet");
    assert!(
        find(&sheet, |v| v == CONTROLLER).is_some(),
        "the controller in the export"
    );
    let (header_row, purpose_col) =
        find(&sheet, |v| v.starts_with("Purposes of the processing")).expect("the activity header");
    let (_, retention_col) =
        find(&sheet, |v| v.starts_with("Retention schedule")).expect("the retention column");
    let payments = (header_row + 1..sheet.height() as u32)
        .find(|&r| cell(&sheet, r, purpose_col) == "Taking payments for orders and subscriptions")
        .expect("the Stripe payments row");
    assert_eq!(cell(&sheet, payments, retention_col), RETENTION);

    // A page that calls the export commands itself (as injected script would) cannot have
    // files written anywhere but a place chosen in the app's own dialog or Downloads. (Results
    // are under `refused`, not `error`: WebDriver reads an `error` key as its own failure.)
    let planted = out.path().join("planted.csv");
    let folder = out.path().to_str().expect("a UTF-8 path");
    let planted_arg = planted.to_str().expect("a UTF-8 path");
    for (command, args) in [
        ("ropa_export", json!({"format": "csv", "path": planted_arg})),
        (
            "activity_export_csv",
            json!({"query": {"limit": 10}, "path": planted_arg}),
        ),
        ("erasure_receipt", json!({"id": 1, "path": planted_arg})),
        ("access_package", json!({"id": 1, "dir": folder})),
    ] {
        let answer = s
            .execute_async(
                "const [cmd, args, done] = arguments; \
                 window.__TAURI_INTERNALS__.invoke(cmd, args) \
                   .then(() => done({ok: true}), (e) => done({refused: e}))",
                json!([command, args]),
            )
            .expect("invoke from the page");
        assert_eq!(
            answer["refused"]["code"], "invalid_input",
            "{command}: {answer}"
        );
        assert!(
            answer["refused"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("save dialog")),
            "{command}: {answer}"
        );
    }
    assert!(
        !planted.exists(),
        "nothing was written where the page asked"
    );
    let listed: Vec<_> = std::fs::read_dir(out.path())
        .expect("list the folder")
        .map(|e| e.expect("an entry").file_name())
        .collect();
    assert_eq!(listed, [std::ffi::OsString::from("ropa.xlsx")]);

    // The keychain check in Settings reads the real keychain: at least the webhook processor's
    // secret and token and the install's hash key are in use. (Entries of other tests' deleted
    // data dirs may be listed as orphans: the session keychain is shared.)
    s.click("#nav-settings");
    let summary = s.wait_for_text_containing("#keychain-summary", "in use");
    let in_use: usize = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count in {summary:?}"));
    assert!(in_use >= 3, "{summary}");
    s.execute(
        "document.getElementById('keychain-check').scrollIntoView({block: 'start'})",
        json!([]),
    )
    .expect("scroll");
    s.save_screenshot("settings-keychain.png");
}

/// Runs the CLI on the app's data dir (alongside the running app) and expects success.
fn cli(dir: &Path, args: &[&str]) -> Value {
    let out = Command::new(app())
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .arg("--json")
        .output()
        .expect("run privacy-desk");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn cell(sheet: &Range<Data>, r: u32, c: u32) -> String {
    sheet
        .get_value((r, c))
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// The (row, column) of the first cell whose text matches.
fn find(sheet: &Range<Data>, matches: impl Fn(&str) -> bool) -> Option<(u32, u32)> {
    sheet
        .cells()
        .find(|(_, _, v)| matches(&v.to_string()))
        .map(|(r, c, _)| {
            let (r0, c0) = sheet.start().unwrap_or((0, 0));
            (r as u32 + r0, c as u32 + c0)
        })
}

/// A day as the window writes it: the locale's medium date ("Mar 28, 2026" in en-US).
fn local_day(s: &Session, y: i32, m: u32, d: u32) -> String {
    let v = s.execute(
        "return new Date(arguments[0], arguments[1] - 1, arguments[2]) \
           .toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' })",
        json!([y, m, d]),
    );
    match v {
        Ok(Value::String(t)) => t.replace(['\u{a0}', '\u{202f}'], " "),
        other => panic!("Intl in the window: {other:?}"),
    }
}
