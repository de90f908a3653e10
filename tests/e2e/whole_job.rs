//! The whole job in the window only, as a privacy officer does it — no command line anywhere:
//! onboard Stripe without a key, add the key later on the processor's page, receive events,
//! answer an access request end to end (verify, build, withhold one record in the review,
//! release, mark sent), run an erasure that is first blocked at Stripe and then resolved there,
//! and export the RoPA into Downloads. The test plays Stripe's part (signed posts, the fake API's
//! state) and reads the files the app wrote.

use std::path::Path;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::requests::fake_stripe::{FakeStripe, KEY};
use super::requests::{open_alice, request_id, scroll_into_view, zip_files, CUS, EMAIL, NAME};
use super::{fixture, split_webhook_url, support, wizard_next, RunningApp};
use crate::webdriver;

const INVOICE: &str = "in_whole_job_open";

#[test]
fn the_whole_job_in_the_window_only() {
    let fake = FakeStripe::start();
    fake.with(|s| {
        s.keys.insert(KEY.to_owned());
        s.objects
            .entry("customers".into())
            .or_default()
            .push(json!({
                "id": CUS, "object": "customer", "created": support::now() - 3600,
                "email": EMAIL, "name": NAME, "livemode": false
            }));
        // An open invoice at Stripe: the erasure must wait for it.
        s.objects.entry("invoices".into()).or_default().push(json!({
            "id": INVOICE, "object": "invoice", "customer": CUS, "status": "open",
            "created": support::now() - 600, "amount_due": 4500, "currency": "usd",
            "livemode": false
        }));
    });
    let env = [
        ("PRIVACY_DESK_STRIPE_API_BASE", fake.base.as_str()),
        ("PRIVACY_DESK_STRIPE_BACKOFF_MS", "5"),
    ];
    let app = RunningApp::launch_with_env("whole-job", &env);
    let s = &app.session;
    s.wait_for_text("#main h1", "Dashboard");

    // Settings: the receiver on a free port.
    webdriver::receiver_on_free_port(s);

    // Onboarding, skipping the key.
    s.click("#nav-processors");
    s.click("#add-stripe");
    s.wait_for_text("#wizard-step-title", "Choose the processor");
    wizard_next(s, "What Stripe processes");
    wizard_next(s, "Restricted API key");
    wizard_next(s, "Webhook endpoint");
    let webhook_url = s.wait_for("the webhook URL", |s| {
        let url = s.text("#webhook-url")?;
        url.starts_with("http")
            .then(|| url.trim().to_owned())
            .ok_or(format!("#webhook-url reads {url:?}"))
    });
    let (addr, path) = split_webhook_url(&webhook_url);
    wizard_next(s, "Signing secret");
    s.send_keys("#signing-secret", support::SECRET);
    wizard_next(s, "Test event");
    let fixtures = support::fixtures();
    let first = fixture(&fixtures, "02-customer.created.json");
    assert_eq!(support::post_signed(addr, &path, &first.body).0, 200);
    s.wait_for_text_containing("#wizard-status", "Interconnected");
    s.click("#wizard-next");
    s.wait_for_text("#main h1", "Processors");

    // The key, added later on the processor's page.
    s.click("a.processor-link");
    s.wait_for_text("#processor-title", "Stripe");
    s.wait_for_count("#catch-up-now[disabled]", 1);
    s.send_keys("#stripe-key", KEY);
    s.click("#check-key");
    s.wait_for_count("#key-workflows", 1);
    s.wait_for_count("#key-stored", 1);
    s.wait_for_count("#catch-up-now:not([disabled])", 1);
    s.save_screenshot("whole-job-processor-page.png");

    // Stripe delivers the shop's events.
    for f in &fixtures {
        let (status, body) = support::post_signed(addr, &path, &f.body);
        assert_eq!(status, 200, "{} was refused: {body}", f.file);
    }

    // An access request, from the subject's page, answered end to end.
    open_alice(s);
    s.click("#start-access");
    s.wait_for_text_containing("#main h1", "Access request #");
    let access_id = request_id(s);
    s.wait_for_count("#next-step[data-step=\"verify_identity\"]", 1);
    s.send_keys("#identity-method", "replied from the account email");
    s.click("#verify-identity");
    s.wait_for_count("#next-step[data-step=\"build_package\"]", 1);
    s.click("#next-step-action");
    s.wait_for_count("#access-review", 1);
    // Built: the due step is the review, not sending.
    s.wait_for_count("#next-step[data-step=\"review_package\"]", 1);

    // Review: withhold one record (another person's data), then release.
    let record = s.wait_for("a record to review", |s| {
        let ids = s.attributes(
            "#access-review li[data-record-id^=\"activity:\"]",
            "data-record-id",
        )?;
        ids.first()
            .cloned()
            .ok_or("no activity record yet".to_owned())
    });
    let event_id = record.trim_start_matches("activity:").to_owned();
    let item = format!("#access-review li[data-record-id=\"{record}\"]");
    s.click(&format!("{item} .withhold-open"));
    s.wait_for_count("#withhold-form", 1);
    s.click("#withhold-form input[value=\"other_person\"]");
    s.click("#withhold-submit");
    s.wait_for_count(&format!("{item} [data-withheld=\"record\"]"), 1);
    scroll_into_view(s, &item);
    s.save_screenshot("whole-job-review.png");
    s.click("#release-access");
    let zip_path = s.wait_for("the released package", |s| {
        let p = s.text("#release-path")?;
        (!p.trim().is_empty())
            .then(|| p.trim().to_owned())
            .ok_or("no path yet".to_owned())
    });
    assert!(Path::new(&zip_path).starts_with(&app.driver.downloads));
    let files = zip_files(Path::new(&zip_path));
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).expect("manifest.json");
    for f in manifest["files"].as_array().expect("manifest files") {
        let name = f["name"].as_str().expect("a name");
        assert_eq!(
            f["sha256"],
            hex::encode(Sha256::digest(&files[name])),
            "{name}: the manifest matches the released file"
        );
    }
    for (name, bytes) in &files {
        if name != "manifest.json" {
            assert!(
                !String::from_utf8_lossy(bytes).contains(&event_id),
                "the withheld record {event_id} is still in {name}"
            );
        }
    }
    let summary = String::from_utf8_lossy(&files["summary.html"]).to_lowercase();
    assert!(
        summary.contains("withheld"),
        "the cover letter says something was withheld"
    );
    s.wait_for_count("#request-steps li[data-action=\"access.withheld\"]", 1);
    s.wait_for_count("#request-steps li[data-action=\"access.released\"]", 1);
    s.wait_for_count("#next-step[data-step=\"send_package\"]", 1);
    s.click("#next-step-action");
    s.wait_for_count("#next-step[data-step=\"none\"]", 1);

    // An erasure: blocked by the open invoice at Stripe, resolved there, then run.
    open_alice(s);
    s.click("#start-erasure");
    s.wait_for_text_containing("#main h1", "Erasure request #");
    s.send_keys("#identity-method", "replied from the account email");
    s.click("#verify-identity");
    s.wait_for_count("#next-step[data-step=\"review_plan\"]", 1);
    s.click("#next-step-action");
    let blocked =
        format!("[data-plan-action=\"blocked\"][data-target=\"stripe:invoice:{INVOICE}\"]");
    s.wait_for_count(&blocked, 1);
    s.wait_for_count("#execute-erasure[disabled]", 1);
    scroll_into_view(s, &blocked);
    s.save_screenshot("whole-job-erasure-blocked.png");
    // The officer voids the invoice in the Stripe Dashboard, and says so here.
    fake.with(|st| {
        for inv in st.objects.entry("invoices".into()).or_default() {
            inv["status"] = json!("void");
        }
    });
    s.click(&format!("[data-resolve=\"stripe:invoice:{INVOICE}\"]"));
    s.wait_for_count("#resolve-note", 1);
    s.send_keys(
        "#resolve-note",
        "voided the invoice in the Stripe dashboard",
    );
    s.click("#resolve-submit");
    s.wait_for("the plan without a blocked item", |s| {
        let n = s.find_all("[data-plan-action=\"blocked\"]")?.len();
        if n == 0 {
            return Ok(());
        }
        let _ = s.try_screenshot_png().map(|png| {
            std::fs::write(
                webdriver::artifacts_dir().join("whole-job-still-blocked.png"),
                png,
            )
        });
        Err(format!(
            "{n} blocked: {:?}",
            s.text("#erasure-plan").unwrap_or_default()
        ))
    });
    s.wait_for_count("#execute-erasure:not([disabled])", 1);
    s.click("#execute-erasure");
    s.click("#confirm-erasure");
    // Up to a job period and a half: an erasure whose checkpoint a reader held back is
    // completed by the background job, and the page shows it when it is.
    let result = s.wait_up_to(std::time::Duration::from_secs(90), "#erasure-result", |s| {
        s.text("#erasure-result")
    });
    assert!(result.contains("Erasure completed"), "{result:?}");
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.method == "DELETE" && r.path == format!("/v1/customers/{CUS}")));
    s.wait_for_count(
        "#request-steps li[data-action=\"erasure.blocker_resolved\"]",
        1,
    );

    // The RoPA, exported into Downloads in one click.
    s.click("#nav-reports");
    s.wait_for_count("#ropa-export", 1);
    s.click("#ropa-export");
    let status = s.wait_for_text_containing("#ropa-export-status", "Exported");
    let file = std::fs::read_dir(&app.driver.downloads)
        .expect("read Downloads")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("ropa-") && n.ends_with(".xlsx"))
        })
        .unwrap_or_else(|| panic!("no RoPA in Downloads; the window says {status:?}"));
    assert!(std::fs::metadata(&file).expect("the export").len() > 0);
    s.save_screenshot("whole-job-ropa.png");

    // A customer whose email and name are longer than any column: tables cut them, they do
    // not widen.
    let long = serde_json::to_vec(&json!({
        "id": "evt_long_names_0001", "object": "event", "type": "customer.created",
        "created": support::now(), "livemode": false,
        "data": {"object": {
            "id": "cus_LongNamesCustomer01", "object": "customer",
            "email": "maximiliane.von-und-zu-hohenberg-schwarzenfels@kanzlei-beispiel.example",
            "name": "Maximiliane Alexandra Theodora von und zu Hohenberg-Schwarzenfels"
        }}
    }))
    .expect("an event");
    assert_eq!(support::post_signed(addr, &path, &long).0, 200);

    // Every screen at three window widths, with the data of the whole job in it; at 1000 and
    // 1200 px (the default window) no table and no page scrolls sideways.
    let screens = [
        ("dashboard", "#/dashboard".to_owned()),
        ("processors", "#/processors".to_owned()),
        ("processor", "#/processors/1".to_owned()),
        ("activity", "#/activity".to_owned()),
        ("subjects", "#/subjects".to_owned()),
        ("requests", "#/requests".to_owned()),
        ("request", format!("#/requests/{access_id}")),
        ("deliveries", "#/deliveries".to_owned()),
        ("reports", "#/reports".to_owned()),
        ("settings", "#/settings".to_owned()),
    ];
    let mut too_wide = Vec::new();
    for width in [1000, 1200, 1600] {
        s.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": 800})),
        )
        .expect("resize the window");
        for (name, hash) in &screens {
            s.execute("window.location.hash = arguments[0]", json!([hash]))
                .expect("open the screen");
            s.wait_for("the screen to load", |s| {
                let text = s.execute(
                    "const m = document.getElementById('main'); return m ? m.innerText : ''",
                    json!([]),
                )?;
                let loading = text
                    .as_str()
                    .is_none_or(|t| t.is_empty() || t.contains("Loading…"));
                (!loading).then_some(()).ok_or("loading".to_owned())
            });
            std::thread::sleep(std::time::Duration::from_millis(300));
            s.save_screenshot(&format!("{name}-{width}.png"));
            if width <= 1200 {
                let wide = s
                    .execute(
                        "const out = []; \
                         const doc = document.scrollingElement; \
                         if (doc.scrollWidth > doc.clientWidth) out.push('page ' + doc.scrollWidth + '>' + doc.clientWidth); \
                         const main = document.getElementById('main'); \
                         if (main && main.scrollWidth > main.clientWidth) out.push('#main ' + main.scrollWidth + '>' + main.clientWidth); \
                         for (const t of document.querySelectorAll('table')) { \
                           const box = t.parentElement; \
                           if (t.scrollWidth > t.clientWidth || box.scrollWidth > box.clientWidth) \
                             out.push((t.id || 'table') + ' ' + box.scrollWidth + '>' + box.clientWidth); \
                         } \
                         return out;",
                        json!([]),
                    )
                    .expect("measure the screen");
                for w in wide.as_array().into_iter().flatten() {
                    too_wide.push(format!("{name} at {width} px: {w}"));
                }
            }
            if width == 1200 && *name == "activity" {
                // The header row stays at the top of the window as the log scrolls.
                let tops = s
                    .execute(
                        "window.scrollTo(0, 500); \
                         const th = document.querySelector('#activity-table thead th'); \
                         const table = document.getElementById('activity-table'); \
                         const out = [th.getBoundingClientRect().top, table.getBoundingClientRect().top]; \
                         window.scrollTo(0, 0); \
                         return out;",
                        json!([]),
                    )
                    .expect("scroll the log");
                let header = tops[0].as_f64().expect("the header's top");
                let table = tops[1].as_f64().expect("the table's top");
                assert!(
                    table < -20.0 && header.abs() < 1.5,
                    "the header should stick to the top of the window: header at {header} px, \
                     table at {table} px"
                );
            }
        }
    }
    assert!(too_wide.is_empty(), "sideways scroll: {too_wide:?}");
}
