//! The access package's review in the real window: a package built with the window's button
//! into the (test's) Downloads folder, one of its records withheld as another person's data,
//! the package released; then the released .zip read from that folder (the record gone from
//! its JSON, CSV and summary, the manifest's hashes true, the cover letter saying what was
//! withheld and why) and the audit trail's entries checked.

use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::requests::{
    alice_event_ids, ok_json, scroll_into_view, subject_emails, zip_files, EMAIL, NAME,
};
use super::{support, RunningApp};

#[test]
fn a_record_withheld_as_another_persons_data_is_left_out_of_the_released_package() {
    // Seed before the launch: a Stripe processor and the fixture corpus, signed, over HTTP;
    // Alice's access request, her identity verified.
    let data_dir = tempfile::tempdir().expect("create a temporary data dir");
    let dir = data_dir.path();
    let (_pid, path) = support::add_stripe(dir);
    {
        let server = support::Server::start(dir);
        for f in support::fixtures() {
            let (status, body) = support::post_signed(server.addr, &path, &f.body);
            assert_eq!(status, 200, "{} was refused: {body}", f.file);
        }
        support::eventually("Alice to be linked as a data subject", || {
            subject_emails(dir).contains(EMAIL)
        });
        server.stop();
    }
    let created = ok_json(dir, &["dsr", "new", "access", "--email", EMAIL], &[]);
    let id = created["id"].as_i64().expect("a request id");
    ok_json(
        dir,
        &[
            "dsr",
            "verify-identity",
            &id.to_string(),
            "--method",
            "reply from the account email",
        ],
        &[],
    );
    let events = alice_event_ids();
    let withheld_event = events.iter().next().expect("an event of Alice's").clone();
    let record = format!("activity:{withheld_event}");

    let app = RunningApp::launch_on("access-review", data_dir, &[]);
    let s = &app.session;
    let dir = app.data_dir.path();
    s.wait_for_text("#main h1", "Dashboard");
    s.click("#nav-requests");
    s.wait_for_text("#main h1", "Requests");
    s.click(&format!("tr[data-request-id=\"{id}\"] a"));
    s.wait_for_text_containing("#main h1", &format!("Access request #{id}"));

    // Build: the review opens in the window with every record of the package.
    s.wait_for("#build-access to be enabled", |s| {
        let disabled = s.find("#build-access")?.property("disabled")?;
        (disabled == "false")
            .then_some(())
            .ok_or(format!("disabled = {disabled}"))
    });
    s.click("#build-access");
    s.wait_for_text_containing("#access-result", "Package saved");
    let built_path = s.text("#access-path").expect("#access-path");
    let built_sha = s.text("#access-sha256").expect("#access-sha256");
    s.wait_for_count("#access-review", 1);
    let shown: Vec<String> = s
        .attributes(
            "#access-review li[data-record-id^=\"activity:\"]",
            "data-record-id",
        )
        .expect("the activity records");
    let expected: Vec<String> = events.iter().map(|e| format!("activity:{e}")).collect();
    let mut sorted = shown.clone();
    sorted.sort();
    assert_eq!(
        sorted, expected,
        "every activity record of Alice's is listed"
    );
    s.wait_for_text_containing("#review-summary", "Nothing is withheld");
    s.execute(
        "document.getElementById('access-review').scrollIntoView({block: 'start'})",
        serde_json::json!([]),
    )
    .expect("scroll to the review");
    s.save_screenshot("access-review-built.png");

    // Withhold one record: another person's data.
    let item = format!("#access-review li[data-record-id=\"{record}\"]");
    s.click(&format!("{item} .withhold-open"));
    s.wait_for_count("#withhold-form", 1);
    s.click("#withhold-form input[value=\"other_person\"]");
    s.click("#withhold-submit");
    let note = s.wait_for_text_containing(
        &format!("{item} [data-withheld=\"record\"]"),
        "Another person's data",
    );
    assert!(note.contains("The whole record"), "{note:?}");
    s.wait_for_text_containing("#review-summary", "Withheld so far: 1 record");
    scroll_into_view(s, &item);
    s.save_screenshot("access-review.png");

    // Release: into the Downloads folder, replacing the package as built.
    s.click("#release-access");
    s.wait_for_text_containing("#release-result", "Package released");
    let zip_path = s.text("#release-path").expect("#release-path");
    assert!(
        Path::new(&zip_path).starts_with(&app.driver.downloads),
        "{zip_path} is in {}",
        app.driver.downloads.display()
    );
    assert_eq!(
        zip_path, built_path,
        "the release replaces the package built"
    );
    let zip_bytes = std::fs::read(&zip_path).expect("read the released zip");
    let sha = hex::encode(Sha256::digest(&zip_bytes));
    assert_eq!(s.text("#release-sha256").expect("#release-sha256"), sha);
    assert_ne!(sha, built_sha, "the package changed");
    s.wait_for_count("#access-review[data-released=\"true\"]", 1);
    assert_eq!(
        s.find_all("#access-review .withhold-open")
            .expect("find withhold buttons")
            .len(),
        0,
        "nothing more is withheld after the release"
    );
    s.wait_for_text_containing("#review-withheld", &record);
    scroll_into_view(s, "#release-result");
    s.save_screenshot("access-review-released.png");

    // The released package, from the folder: the record is gone, the manifest is true.
    let files = zip_files(Path::new(&zip_path));
    for (name, bytes) in &files {
        assert!(
            !String::from_utf8_lossy(bytes).contains(&withheld_event),
            "{withheld_event} is still in {name}"
        );
    }
    let activity: Value = serde_json::from_slice(&files["activity.json"]).expect("activity.json");
    assert_eq!(
        activity.as_array().expect("activity").len(),
        events.len() - 1
    );
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).expect("manifest");
    let listed = manifest["files"].as_array().expect("manifest files");
    assert_eq!(listed.len(), files.len() - 1);
    for f in listed {
        let name = f["name"].as_str().expect("a file name");
        assert_eq!(
            f["sha256"],
            hex::encode(Sha256::digest(&files[name])),
            "{name} in the manifest"
        );
    }
    assert_eq!(manifest["withheld"]["records"], 1, "{manifest:#}");
    assert_eq!(manifest["withheld"]["grounds"][0], "other_person");
    let summary = String::from_utf8_lossy(&files["summary.html"]).into_owned();
    assert!(
        summary.contains("We have withheld 1 record from this package")
            && summary.contains("Article 15(4)"),
        "the cover letter says what was withheld and why: {summary}"
    );
    assert!(summary.contains(EMAIL));

    // The audit trail: the decision with the record id and the ground, the release with the
    // package's SHA-256; never a value of the record.
    let trail = ok_json(dir, &["audit", "list", "--request", &id.to_string()], &[]);
    let entries = trail.as_array().expect("audit entries");
    let of = |action: &str| -> Vec<Value> {
        entries
            .iter()
            .filter(|e| e["action"] == action)
            .map(|e| e["details"].clone())
            .collect()
    };
    let withheld = of("access.withheld");
    assert_eq!(withheld.len(), 1, "{trail:#}");
    assert_eq!(withheld[0]["record_id"], record);
    assert_eq!(withheld[0]["ground"], "other_person");
    let released = of("access.released");
    assert_eq!(released.len(), 1, "{trail:#}");
    assert_eq!(released[0]["sha256"], sha);
    let text = trail.to_string();
    assert!(!text.contains(EMAIL) && !text.contains(NAME), "{text}");
    s.wait_for_count("#request-steps li[data-action=\"access.released\"]", 1);
}
