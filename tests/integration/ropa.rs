//! Processors beyond Stripe and the RoPA, through the real CLI and `serve`: a generic webhook
//! processor's signed events are ingested, linked to subjects and listed as `NAME:TYPE`;
//! `org set`, `processor add manual` and `ropa export` in every format.

use privacy_desk_core::secrets::Secret;
use privacy_desk_core::webhook::{self, SignatureEncoding, WebhookConfig};
use serde_json::{json, Value};

use crate::support::*;

const BOOKS_SECRET: &str = "books-shared-secret-0042";

fn books_config() -> WebhookConfig {
    WebhookConfig {
        signature_header: "X-Books-Signature".into(),
        signature_encoding: SignatureEncoding::Base64,
        signature_prefix: "sha256=".into(),
        id_pointer: "/eventNotifications/0/id".into(),
        type_pointer: "/eventNotifications/0/operation".into(),
        time_pointer: Some("/eventNotifications/0/lastUpdated".into()),
        email_pointer: "/eventNotifications/0/entity/PrimaryEmailAddr/Address".into(),
        name_pointer: None,
        timestamp: None,
    }
}

fn books_event(id: &str, op: &str, email: &str, at: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"eventNotifications": [{
        "id": id, "operation": op, "lastUpdated": at,
        "entity": {"Id": "58", "PrimaryEmailAddr": {"Address": email},
                   "PrimaryPhone": {"FreeFormNumber": "+44 20 7946 0000"}}
    }]}))
    .unwrap()
}

#[test]
fn a_generic_webhook_processors_signed_events_are_ingested_and_linked() {
    let dir = tempfile::tempdir().unwrap();
    let p = cli_json(
        dir.path(),
        &[
            "processor",
            "add",
            "webhook",
            "--name",
            "QuickBooks",
            "--signature-header",
            "X-Books-Signature",
            "--signature-encoding",
            "base64",
            "--signature-prefix",
            "sha256=",
            "--id-pointer",
            "/eventNotifications/0/id",
            "--type-pointer",
            "/eventNotifications/0/operation",
            "--time-pointer",
            "/eventNotifications/0/lastUpdated",
            "--email-pointer",
            "/eventNotifications/0/entity/PrimaryEmailAddr/Address",
            "--signing-secret-stdin",
        ],
        Some(&format!("{BOOKS_SECRET}\n")),
    );
    assert_eq!(p["kind"], "webhook");
    assert_eq!(p["name"], "QuickBooks");
    let path = p["webhook_path"].as_str().unwrap().to_owned();
    assert!(path.starts_with("/webhooks/custom/"), "{path}");
    assert!(p["webhook_url"].as_str().unwrap().ends_with(&path));
    let shown = cli_json(
        dir.path(),
        &["processor", "show", &p["id"].to_string()],
        None,
    );
    assert_eq!(shown["kind"], "webhook");
    assert_eq!(shown["status"], "awaiting_first_event");

    let server = Server::start(dir.path());
    let cfg = books_config();
    let secret = Secret::new(BOOKS_SECRET);
    let send =
        |body: &[u8], sig: &str| post(server.addr, &path, body, &[("X-Books-Signature", sig)]);

    let first = books_event(
        "qb-1",
        "Customer.Create",
        "Jo.Bloggs@Example.co.uk",
        "2025-11-10T09:00:00Z",
    );
    let (status, answer) = send(&first, &webhook::sign(&cfg, &secret, &first));
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("accepted")),
        "{answer}"
    );
    let (status, answer) = send(&first, &webhook::sign(&cfg, &secret, &first));
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("duplicate"))
    );
    let second = books_event(
        "qb-2",
        "Invoice.Create",
        "jo.bloggs@example.co.uk",
        "2025-11-11T09:00:00Z",
    );
    let (status, _) = send(&second, &webhook::sign(&cfg, &secret, &second));
    assert_eq!(status, 200);

    // Wrong secret, missing header, tampered body, wrong route, a body without the id: refused.
    let other = webhook::sign(&cfg, &Secret::new("not-the-secret"), &second);
    assert_eq!(send(&second, &other).0, 400);
    assert_eq!(post(server.addr, &path, &second, &[]).0, 400);
    let tampered = books_event(
        "qb-2",
        "Invoice.Create",
        "eve@example.com",
        "2025-11-11T09:00:00Z",
    );
    assert_eq!(
        send(&tampered, &webhook::sign(&cfg, &secret, &second)).0,
        400
    );
    let stripe_route = path.replacen("/custom/", "/stripe/", 1);
    assert_eq!(post(server.addr, &stripe_route, &second, &[]).0, 401);
    let no_id = br#"{"eventNotifications":[{"operation":"x"}]}"#;
    let (status, answer) = send(no_id, &webhook::sign(&cfg, &secret, no_id));
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (400, Some("invalid_payload"))
    );

    eventually("both events linked", || {
        let rows = cli_json(dir.path(), &["activity", "list"], None);
        rows.as_array().unwrap().len() == 2
            && rows
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["status"] == "linked")
    });
    let rows = cli_json(dir.path(), &["activity", "list"], None);
    let types: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["QuickBooks:Invoice.Create", "QuickBooks:Customer.Create"]
    );
    assert_eq!(rows[0]["source"], "QuickBooks");
    assert_eq!(rows[0]["occurred_at"], "2025-11-11T09:00:00Z");
    assert_eq!(rows[0]["subject_email"], "jo.bloggs@example.co.uk");
    let filtered = cli_json(
        dir.path(),
        &[
            "activity",
            "list",
            "--source",
            "QuickBooks",
            "--type",
            "Customer.*",
        ],
        None,
    );
    assert_eq!(filtered.as_array().unwrap().len(), 1);

    let subject = cli_json(
        dir.path(),
        &["subjects", "show", "JO.BLOGGS@example.co.uk"],
        None,
    );
    assert_eq!(subject["activity_count"], 2);
    let processor = cli_json(
        dir.path(),
        &["processor", "show", &p["id"].to_string()],
        None,
    );
    assert_eq!(processor["status"], "interconnected");

    // The phone number was not kept, but its category shows as a gap for the RoPA.
    let db = scannable_bytes(&dir.path().join("privacy-desk.db"));
    assert!(!String::from_utf8_lossy(&db).contains("7946"));
    let gaps = cli_json(dir.path(), &["ropa", "gaps"], None);
    let cats: Vec<&str> = gaps
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["category"].as_str().unwrap())
        .collect();
    assert_eq!(cats, ["email", "phone"], "{gaps}");
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn org_set_manual_processors_and_ropa_export() {
    let dir = tempfile::tempdir().unwrap();
    add_stripe(dir.path());
    let manual = cli_json(
        dir.path(),
        &["processor", "add", "manual", "--name", "Payroll bureau"],
        None,
    );
    assert_eq!(manual["kind"], "manual");
    assert_eq!(manual["webhook_url"], Value::Null);

    let org = cli_json(
        dir.path(),
        &[
            "org",
            "set",
            "--name",
            "Bloggs & Co Ltd",
            "--address",
            "1 High Street, York",
            "--email",
            "hello@bloggs.example",
            "--dpo-name",
            "Sam Lee",
        ],
        None,
    );
    assert_eq!(org["name"], "Bloggs & Co Ltd");
    let org = cli_json(
        dir.path(),
        &["org", "set", "--dpo-email", "dpo@bloggs.example"],
        None,
    );
    assert_eq!(org["dpo_name"], "Sam Lee", "fields not given are kept");
    assert_eq!(org["dpo_email"], "dpo@bloggs.example");
    let bad = cli(dir.path(), &["org", "set", "--email", "not-an-email"], None);
    assert_eq!(bad.status.code(), Some(2));

    let ropa = cli_json(dir.path(), &["ropa", "show"], None);
    assert_eq!(ropa["controller"]["name"], "Bloggs & Co Ltd");
    let purposes: Vec<&str> = ropa["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["fields"]["purpose"].as_str().unwrap())
        .collect();
    assert_eq!(
        purposes,
        [
            "Taking payments for orders and subscriptions",
            "Keeping accounting and tax records"
        ]
    );

    let payroll = json!({"purpose": "Paying staff", "lawful_basis": "Art. 6(1)(c) legal obligation",
        "data_subjects": ["Employees"], "data_categories": ["name", "Bank details"]});
    let out = {
        let mut cmd = std::process::Command::new(bin());
        cmd.arg("--data-dir").arg(dir.path()).args([
            "ropa",
            "activity",
            "save",
            "--processor",
            &manual["id"].to_string(),
            "--json",
        ]);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(payroll.to_string().as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    assert!(out.status.success());
    let saved: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(saved["processors"], json!(["Payroll bureau"]));

    let checklist = cli_json(
        dir.path(),
        &[
            "ropa",
            "checklist",
            "dpa_executed",
            "--done",
            "2025-11-01",
            "--evidence",
            "https://drive.example/dpa",
        ],
        None,
    );
    assert!(checklist
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["key"] == "dpa_executed" && c["done_on"] == "2025-11-01"));

    for format in ["xlsx", "pdf", "csv", "json"] {
        let file = dir.path().join(format!("ropa.{format}"));
        let r = cli_json(
            dir.path(),
            &[
                "ropa",
                "export",
                "--format",
                format,
                "--out",
                file.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(r["activities"], 3, "{format}");
        crate::dsr::assert_private(&file);
        assert!(std::fs::metadata(&file).unwrap().len() > 100, "{format}");
    }
    let back: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("ropa.json")).unwrap()).unwrap();
    assert_eq!(back["activities"][2]["fields"]["purpose"], "Paying staff");
    // The PDF labels every Art. 30(1) item, (b) included, for a DPO checking them one by one.
    let text = std::process::Command::new("pdftotext")
        .arg(dir.path().join("ropa.pdf"))
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils, installed by make setup)");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Purposes of the processing (Art. 30(1)(b))"),
        "{text}"
    );
    for point in ["(a)", "(c)", "(d)", "(e)", "(f)", "(g)"] {
        assert!(
            text.contains(&format!("Art. 30(1){point}")),
            "{point}: {text}"
        );
    }
    let csv = std::fs::read_to_string(dir.path().join("ropa.csv")).unwrap();
    assert!(csv.contains("Paying staff") && csv.contains("Art. 30(1)(b)"));

    let bad = cli(
        dir.path(),
        &["ropa", "export", "--format", "docx", "--out", "x.docx"],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("xlsx"), "{stderr}");
}
