use std::process::Command;

use calamine::{open_workbook, Reader, Xlsx};

use super::export::{header, COLUMNS};
use super::export_xlsx::{PROCESSOR_HEADERS, TABLE_HEADER_ROW};
use super::*;
use crate::ingest::{self, model::Incoming};
use crate::store::processors::{insert, NewProcessor};

struct Env {
    _dir: tempfile::TempDir,
    ctx: Context,
    stripe: i64,
    manual: i64,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::open_in_memory_keychain(dir.path()).unwrap();
    let add = |name: &'static str, kind: ProcessorKind, endpoint: Option<&'static str>| {
        ctx.db
            .write(move |c| {
                insert(
                    c,
                    &NewProcessor {
                        name,
                        kind,
                        endpoint_id: endpoint,
                        token_hash: None,
                        config: "{}",
                        created_at: 1,
                    },
                )
            })
            .unwrap()
    };
    let stripe = add(
        "Stripe",
        ProcessorKind::Stripe,
        Some("0123456789abcdef01234567"),
    );
    let manual = add("Mailjet", ProcessorKind::Manual, None);
    for (i, observed) in [
        vec!["email", "name"],
        vec!["email", "phone"],
        vec!["email", "phone", "shipping_address"],
    ]
    .into_iter()
    .enumerate()
    {
        let mut inc = Incoming {
            event_id: format!("evt_{i}"),
            event_type: "charge.succeeded".into(),
            occurred_at: 1_000 + i as i64,
            livemode: Some(false),
            thin: false,
            data: Default::default(),
        };
        inc.data.observed = observed.into_iter().map(String::from).collect();
        ingest::store_blocking(&ctx.db, ingest::row(stripe, "stripe", inc, 2_000, None)).unwrap();
    }
    crate::domain::settings::update_org(&ctx, |o| {
        o.name = "Atelier Dupré SARL".into();
        o.address = "12 rue des Lilas, 75011 Paris, France".into();
        o.email = "contact@atelier-dupre.example".into();
        o.dpo_name = "Claire Martin".into();
        o.dpo_email = "dpo@atelier-dupre.example".into();
        o.representative = "UK Rep Ltd, London".into();
    })
    .unwrap();
    Env {
        _dir: dir,
        ctx,
        stripe,
        manual,
    }
}

fn newsletter(manual: i64) -> (ActivityFields, Vec<i64>) {
    (
        ActivityFields {
            business_function: "Marketing".into(),
            purpose: "Sending the newsletter".into(),
            lawful_basis: "Art. 6(1)(a) consent".into(),
            data_subjects: vec!["Subscribers".into()],
            data_categories: vec!["Email address".into()],
            recipients: vec!["Mailjet".into()],
            retention: "Until unsubscribed".into(),
            security_measures: "MFA on the Mailjet account".into(),
            source: "The subscriber".into(),
            last_review: Some("2025-11-01".into()),
            ..Default::default()
        },
        vec![manual],
    )
}

#[test]
fn stripe_defaults_are_proposed_once_and_linked() {
    let e = env();
    let r = report(&e.ctx).unwrap();
    let keys: Vec<_> = r
        .activities
        .iter()
        .map(|a| a.default_key.as_deref().unwrap())
        .collect();
    assert_eq!(keys, ["stripe:payments", "stripe:accounting"]);
    let pay = &r.activities[0];
    assert_eq!(pay.processor_ids, vec![e.stripe]);
    assert_eq!(pay.processors, vec!["Stripe"]);
    assert!(pay.fields.lawful_basis.contains("6(1)(b)"));
    assert!(r.activities[1].fields.lawful_basis.contains("6(1)(c)"));
    assert!(pay
        .fields
        .transfer_safeguards
        .contains("Data Privacy Framework"));
    assert!(pay
        .fields
        .transfer_safeguards
        .contains("Standard Contractual Clauses"));
    assert_eq!(pay.observed, ["email", "name", "phone", "shipping_address"]);
    let stripe = r.processors.iter().find(|p| p.id == e.stripe).unwrap();
    assert!(stripe.details.dpa_link.contains("stripe.com"));

    // A deleted default does not come back.
    delete_activity(&e.ctx, r.activities[1].id).unwrap();
    assert_eq!(report(&e.ctx).unwrap().activities.len(), 1);
}

/// "Stripe recorded in the RoPA" is what the RoPA says, not a box that contradicts it.
#[test]
fn stripe_in_ropa_is_done_while_every_stripe_processor_is_in_an_activity() {
    let e = env();
    let item = |r: &Ropa| {
        r.checklist
            .iter()
            .find(|c| c.key == "stripe_in_ropa")
            .cloned()
            .unwrap()
    };
    let r = report(&e.ctx).unwrap();
    let done = item(&r);
    assert!(done.done_on.is_some(), "{done:?}");
    for a in &r.activities {
        assert!(done.evidence.contains(&a.fields.purpose), "{done:?}");
    }
    // The other items stay the officer's to tick.
    assert!(r
        .checklist
        .iter()
        .filter(|c| c.key != "stripe_in_ropa")
        .all(|c| c.done_on.is_none()));

    for a in &r.activities {
        delete_activity(&e.ctx, a.id).unwrap();
    }
    let open = item(&report(&e.ctx).unwrap());
    assert_eq!((open.done_on, open.evidence.as_str()), (None, ""));
}

#[test]
fn observed_categories_not_declared_are_gaps_until_declared() {
    let e = env();
    let r = report(&e.ctx).unwrap();
    let gaps: Vec<(&str, i64)> = r
        .gaps
        .iter()
        .map(|g| (g.category.as_str(), g.events))
        .collect();
    assert_eq!(gaps, [("phone", 2), ("shipping_address", 1)]);
    assert_eq!(r.gaps[0].processor, "Stripe");

    let pay = r.activities[0].clone();
    let mut f = pay.fields.clone();
    f.data_categories.push("Phone number".into());
    f.data_categories.push("shipping address".into());
    f.last_review = Some("2025-12-01".into());
    let saved = save_activity(&e.ctx, Some(pay.id), f, pay.processor_ids.clone()).unwrap();
    assert_eq!(saved.fields.last_review.as_deref(), Some("2025-12-01"));
    assert!(report(&e.ctx).unwrap().gaps.is_empty());
}

#[test]
fn edits_are_checked() {
    let e = env();
    let (mut f, p) = newsletter(e.manual);
    assert_eq!(
        save_activity(&e.ctx, None, f.clone(), vec![999])
            .unwrap_err()
            .code(),
        "invalid_input"
    );
    f.last_review = Some("01/11/2025".into());
    assert!(save_activity(&e.ctx, None, f.clone(), p.clone()).is_err());
    f.purpose = "  ".into();
    f.last_review = None;
    assert!(save_activity(&e.ctx, None, f, p).is_err());
    assert_eq!(
        save_activity(&e.ctx, Some(999), newsletter(e.manual).0, vec![])
            .unwrap_err()
            .code(),
        "not_found"
    );
    assert!(set_checklist(&e.ctx, "nope", None, "").is_err());
    let list = set_checklist(
        &e.ctx,
        "dpa_executed",
        Some("2025-10-02".into()),
        "https://drive.example/dpa.pdf",
    )
    .unwrap();
    let dpa = list.iter().find(|c| c.key == "dpa_executed").unwrap();
    assert_eq!(dpa.done_on.as_deref(), Some("2025-10-02"));
    assert_eq!(list.len(), CHECKLIST.len());
}

fn full(e: &Env) -> Ropa {
    let (f, p) = newsletter(e.manual);
    save_activity(&e.ctx, None, f, p).unwrap();
    let mut d = ProcessorDetails {
        service: "Email campaigns".into(),
        location: "France".into(),
        ..Default::default()
    };
    d.dpa_signed_on = Some("2025-09-30".into());
    save_processor_details(&e.ctx, e.manual, d).unwrap();
    report(&e.ctx).unwrap()
}

#[test]
fn xlsx_has_the_controller_every_art30_column_and_the_stripe_row() {
    let e = env();
    let r = full(&e);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ropa.xlsx");
    export(&e.ctx, Format::Xlsx, &path).unwrap();

    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    let sheet = wb.worksheet_range("Controller").unwrap();
    let cell = |r: u32, c: u32| {
        sheet
            .get_value((r, c))
            .map(|v| v.to_string())
            .unwrap_or_default()
    };
    assert_eq!(cell(1, 0), "Controller (Art. 30(1)(a))");
    assert_eq!(cell(1, 1), "Atelier Dupré SARL");
    assert_eq!(cell(3, 1), "contact@atelier-dupre.example");
    assert_eq!(cell(4, 1), "Claire Martin <dpo@atelier-dupre.example>");
    assert_eq!(cell(5, 1), "UK Rep Ltd, London");

    let headers: Vec<String> = (0..COLUMNS.len() as u32)
        .map(|c| cell(TABLE_HEADER_ROW, c))
        .collect();
    let expected: Vec<String> = COLUMNS.iter().map(header).collect();
    assert_eq!(headers, expected);
    for point in ["(a)", "(b)", "(c)", "(d)", "(e)", "(f)", "(g)"] {
        assert!(
            headers
                .iter()
                .any(|h| h.contains(&format!("Art. 30(1){point}"))),
            "no column for Art. 30(1){point}"
        );
    }
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.starts_with(name))
            .unwrap_or_else(|| panic!("no column {name}")) as u32
    };

    // One row per activity, in order; then nothing.
    for (i, a) in r.activities.iter().enumerate() {
        let row = TABLE_HEADER_ROW + 1 + i as u32;
        for (c, column) in COLUMNS.iter().enumerate() {
            assert_eq!(cell(row, c as u32), (column.value)(a), "{}", column.header);
        }
    }
    assert_eq!(
        cell(TABLE_HEADER_ROW + 1 + r.activities.len() as u32, 2),
        ""
    );

    let stripe = TABLE_HEADER_ROW + 1;
    assert_eq!(
        cell(stripe, col("Purposes of the processing")),
        "Taking payments for orders and subscriptions"
    );
    assert_eq!(
        cell(stripe, col("Article 6 lawful basis")),
        "Art. 6(1)(b) contract"
    );
    assert_eq!(cell(stripe, col("Processors")), "Stripe");
    assert_eq!(
        cell(stripe, col("Categories of individuals")),
        "Customers; Payers at checkout"
    );
    assert!(cell(stripe, col("Categories of personal data")).contains("Email address"));
    assert!(cell(stripe, col("Categories of recipients")).contains("Stripe"));
    assert!(cell(stripe, col("Names of third countries")).contains("United States"));
    assert!(cell(stripe, col("Safeguards for transfers")).contains("Data Privacy Framework"));
    assert!(!cell(stripe, col("Retention schedule")).is_empty());
    assert!(cell(stripe, col("General description of technical")).contains("PCI DSS"));
    assert_eq!(
        cell(stripe, col("Link to contract with processor")),
        "https://stripe.com/legal/dpa"
    );
    assert_eq!(cell(stripe, col("Special category data")), "No");
    assert!(cell(stripe, col("Categories observed")).contains("Phone number"));
    assert_eq!(
        cell(stripe + 1, col("Article 6 lawful basis")),
        "Art. 6(1)(c) legal obligation (accounting and tax law)"
    );

    let procs = wb.worksheet_range("Processors").unwrap();
    let pcell = |r: u32, c: u32| {
        procs
            .get_value((r, c))
            .map(|v| v.to_string())
            .unwrap_or_default()
    };
    for (c, h) in PROCESSOR_HEADERS.iter().enumerate() {
        assert_eq!(pcell(0, c as u32), *h);
    }
    assert_eq!(pcell(1, 0), "Stripe");
    assert!(pcell(1, 5).contains("stripe.com/legal/dpa"));
    assert_eq!(
        pcell(1, 8),
        "Taking payments for orders and subscriptions; Keeping accounting and tax records"
    );
    assert_eq!(pcell(2, 0), "Mailjet");
    assert_eq!(pcell(2, 6), "2025-09-30");
    assert!(wb.sheet_names().contains(&"Checklist".to_owned()));
}

#[test]
fn pdf_text_holds_the_controller_and_each_activity() {
    let e = env();
    let r = full(&e);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ropa.pdf");
    export(&e.ctx, Format::Pdf, &path).unwrap();
    let out = Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed: run `make setup`");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "Record of processing activities",
        "Atelier Dupré SARL",
        "12 rue des Lilas, 75011 Paris, France",
        "Claire Martin <dpo@atelier-dupre.example>",
        "Art. 6(1)(b) contract",
        "Signature:",
    ] {
        assert!(flat.contains(needle), "{needle:?} not in:\n{text}");
    }
    for a in &r.activities {
        assert!(
            flat.contains(&a.fields.purpose),
            "{:?} not in PDF",
            a.fields.purpose
        );
    }
}

/// The export's records, read with the `csv` crate.
fn parse_csv(s: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(s.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

#[test]
fn csv_and_json_round_trip() {
    let e = env();
    let mut f = newsletter(e.manual).0;
    f.description = "Monthly, \"opt-in\",\nwith a line break".into();
    save_activity(&e.ctx, None, f, vec![e.manual]).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let csv_path = dir.path().join("ropa.csv");
    let r = export(&e.ctx, Format::Csv, &csv_path).unwrap();
    let rows = parse_csv(&std::fs::read_to_string(&csv_path).unwrap());
    assert_eq!(rows.len(), 1 + r.activities.len());
    let head: Vec<String> = COLUMNS.iter().map(header).collect();
    assert_eq!(rows[0], head);
    for (row, a) in rows[1..].iter().zip(&r.activities) {
        let want: Vec<String> = COLUMNS.iter().map(|c| (c.value)(a)).collect();
        assert_eq!(row, &want);
    }

    let json_path = dir.path().join("ropa.json");
    let written = export(&e.ctx, Format::Json, &json_path).unwrap();
    let back: Ropa = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    assert_eq!(back, written);
    assert_eq!(back.controller.name, "Atelier Dupré SARL");
    assert_eq!(back.activities.len(), 3);
    assert!(back.activities[2].fields.description.contains("line break"));
    // No partial file is left beside the exports.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}
