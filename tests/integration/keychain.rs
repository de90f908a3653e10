//! Keychain namespaces (issue 17): a data directory deleted and recreated at the same path is a
//! new install, and inherits none of the old install's secrets.

use std::path::Path;

use serde_json::Value;

use crate::fake_stripe::{FakeStripe, KEY};
use crate::support::*;

/// A data dir at a fixed path (`root/data`), so that it can be deleted and recreated.
fn data_dir(root: &tempfile::TempDir) -> std::path::PathBuf {
    root.path().join("data")
}

/// A Stripe processor added without a signing secret: (id, webhook path).
fn add_stripe_without_secret(dir: &Path) -> (i64, String) {
    let p = cli_json(dir, &["processor", "add", "stripe"], None);
    (
        p["id"].as_i64().unwrap(),
        p["webhook_path"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn a_recreated_data_dir_does_not_accept_events_signed_with_the_old_installs_secret() {
    let root = tempfile::tempdir().unwrap();
    let dir = data_dir(&root);
    let (old_id, _) = add_stripe(&dir);
    std::fs::remove_dir_all(&dir).unwrap();

    // Same path, a new database; its processor gets the same id, and has no secret.
    let (id, path) = add_stripe_without_secret(&dir);
    assert_eq!(
        id, old_id,
        "ids restart at 1: the case the namespace must handle"
    );
    let server = Server::start(&dir);
    let body = event_body("evt_signed_for_the_deleted_install");
    let (status, answer) = post_signed(server.addr, &path, &body);
    assert_ne!(
        status, 200,
        "an event signed with the deleted install's whsec_ was accepted: {answer}"
    );
    let stored = cli_json(&dir, &["activity", "list"], None);
    assert_eq!(stored, serde_json::json!([]), "nothing stored");
}

#[test]
fn a_recreated_data_dir_does_not_inherit_the_old_installs_stripe_api_key() {
    let fake = FakeStripe::start();
    let root = tempfile::tempdir().unwrap();
    let dir = data_dir(&root);
    let (old_id, _) = add_stripe(&dir);
    let out = cli_with(
        &dir,
        Some(&fake.base),
        &["stripe", "set-key", &old_id.to_string(), "--json"],
        Some(&format!("{KEY}\n")),
        &[],
    );
    json_of(&out, "set-key");
    std::fs::remove_dir_all(&dir).unwrap();

    let (id, _) = add_stripe_without_secret(&dir);
    assert_eq!(id, old_id);
    let before = fake.requests().len();
    // Any call with a key would do (an erasure's DELETE included): `stripe check` is the
    // lightest. The new processor has no key, so it must refuse without calling Stripe.
    let out = cli_with(
        &dir,
        Some(&fake.base),
        &["stripe", "check", &id.to_string(), "--json"],
        None,
        &[],
    );
    assert!(
        !out.status.success(),
        "the new processor used the deleted install's API key: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stripe set-key"), "{err}");
    assert!(!err.contains(KEY), "{err}");
    assert_eq!(
        fake.requests().len(),
        before,
        "Stripe was called with another install's key"
    );
}

fn doctor(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["doctor"];
    all.extend_from_slice(args);
    cli_json(dir, &all, None)
}

/// The orphans `report` lists in `namespace`: (account, reason).
fn orphans_in(report: &Value, namespace: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = report["orphans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["namespace"] == namespace)
        .map(|o| {
            let entry = o["entry"].as_str().unwrap();
            (
                entry
                    .strip_prefix(&format!("{namespace}/"))
                    .unwrap()
                    .to_owned(),
                o["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn doctor_lists_orphaned_keychain_entries_and_removes_them() {
    let root = tempfile::tempdir().unwrap();
    let dir = data_dir(&root);
    add_stripe(&dir);
    let old_ns = doctor(&dir, &[])["keychain_namespace"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::remove_dir_all(&dir).unwrap();

    // The recreated install: processor 1 in use, processor 2 deleted behind the app's back
    // (no command deletes one; its entries are left in the keychain).
    let (_, path) = add_stripe(&dir);
    let (gone, _) = add_stripe(&dir);
    {
        let db = privacy_desk_core::store::Db::open(&dir).unwrap();
        db.write(move |c| privacy_desk_core::store::processors::delete(c, gone))
            .unwrap();
        db.shutdown();
    }
    let report = doctor(&dir, &[]);
    let ns = report["keychain_namespace"].as_str().unwrap().to_owned();
    assert_ne!(ns, old_ns, "a recreated data dir is a new install");
    assert_eq!(report["install_id"], ns.as_str());
    assert_eq!(report["upgraded"], false);
    assert_eq!(report["keychain_listing"], "complete");
    assert_eq!(
        orphans_in(&report, &old_ns),
        pairs(&[
            ("app/install", "install_replaced"),
            ("processor/1/endpoint-token", "install_replaced"),
            ("processor/1/signing-secret", "install_replaced"),
        ])
    );
    assert_eq!(
        orphans_in(&report, &ns),
        pairs(&[
            ("processor/2/endpoint-token", "processor_deleted"),
            ("processor/2/signing-secret", "processor_deleted"),
        ])
    );
    assert_eq!(
        report["removed"],
        serde_json::json!([]),
        "listing removes nothing"
    );
    assert!(
        !report.to_string().contains(SECRET),
        "no secret in the report"
    );
    let human = cli(&dir, &["doctor"], None);
    assert!(human.status.success());
    assert!(String::from_utf8_lossy(&human.stdout).contains("--remove-orphans"));

    let report = doctor(&dir, &["--remove-orphans"]);
    let removed: Vec<&str> = report["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    for e in [
        format!("{old_ns}/processor/1/signing-secret"),
        format!("{old_ns}/processor/1/endpoint-token"),
        format!("{old_ns}/app/install"),
        format!("{ns}/processor/2/signing-secret"),
        format!("{ns}/processor/2/endpoint-token"),
    ] {
        assert!(removed.contains(&e.as_str()), "{e} not removed: {report}");
    }
    let after = doctor(&dir, &[]);
    assert_eq!(orphans_in(&after, &old_ns), vec![]);
    assert_eq!(orphans_in(&after, &ns), vec![]);
    assert!(after["other_installs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["namespace"] != old_ns.as_str()));
    // This install's own entries were kept: its processor still verifies its events.
    let server = Server::start(&dir);
    assert_eq!(
        post_signed(server.addr, &path, &event_body("evt_kept")).0,
        200
    );
    // Its own namespace is not "another install".
    let out = cli(&dir, &["doctor", "--remove-namespace", &ns], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_database_from_before_v10_keeps_its_secrets_after_the_upgrade() {
    use privacy_desk_core::secrets::{legacy_namespace, Secret, SERVICE};
    const TOKEN: &str = "legacyEndpointToken_0123456789abcdef";
    const TUNNEL: &str = "2fakeLegacyNgrokToken_0123456789";
    let fake = FakeStripe::start();
    let root = tempfile::tempdir().unwrap();
    let dir = data_dir(&root);
    std::fs::create_dir(&dir).unwrap();
    // The database as schema v9 left it, with one Stripe processor...
    let eid = "0123456789abcdef01234567";
    {
        let mut conn =
            privacy_desk_core::store::Connection::open(dir.join(privacy_desk_core::store::DB_FILE))
                .unwrap();
        privacy_desk_core::store::migrate::migrate_to(&mut conn, 9).unwrap();
        let hash = privacy_desk_core::domain::processors::token_hash(&Secret::new(TOKEN));
        conn.execute(
            "INSERT INTO processors (name, kind, endpoint_id, token_hash, config, created_at)
             VALUES ('Stripe', 'stripe', ?1, ?2, '{}', 1)",
            (eid, hash.to_vec()),
        )
        .unwrap();
    }
    // ...and its secrets where that version filed them: under a hash of the data dir's path.
    let ns = legacy_namespace(&dir);
    for (account, value) in [
        ("processor/1/endpoint-token", TOKEN),
        ("processor/1/signing-secret", SECRET),
        ("processor/1/api-key", KEY),
        ("app/tunnel-token", TUNNEL),
    ] {
        keyring::Entry::new(SERVICE, &format!("{ns}/{account}"))
            .unwrap()
            .set_password(value)
            .unwrap();
    }

    // The first command upgrades it; every secret is found.
    let path = format!("/webhooks/stripe/{eid}?token={TOKEN}");
    let shown = cli_json(&dir, &["processor", "show", "1"], None);
    assert_eq!(shown["webhook_path"], path.as_str());
    let report = doctor(&dir, &[]);
    assert_eq!(report["upgraded"], true);
    assert_eq!(report["keychain_namespace"], ns.as_str());
    assert_ne!(report["install_id"], ns.as_str());
    assert_eq!(orphans_in(&report, &ns), vec![]);
    assert_eq!(report["entries"].as_u64(), Some(4));
    let status = cli_json(&dir, &["tunnel", "status"], None);
    assert_eq!(status["token_set"], true);
    let out = cli_with(
        &dir,
        Some(&fake.base),
        &["stripe", "check", "1", "--json"],
        None,
        &[],
    );
    assert_eq!(json_of(&out, "stripe check")["key_kind"], "restricted");
    {
        let server = Server::start(&dir);
        let (status, answer) = post_signed(server.addr, &path, &event_body("evt_upgraded"));
        assert_eq!(status, 200, "{answer}");
        server.stop();
    }

    // The namespace is recorded now: the data dir can move and keep its secrets.
    let moved = root.path().join("moved");
    std::fs::rename(&dir, &moved).unwrap();
    let shown = cli_json(&moved, &["processor", "show", "1"], None);
    assert_eq!(shown["webhook_path"], path.as_str());
}
