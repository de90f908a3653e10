//! Backups and restores through the real CLI: a backup taken while `serve` acknowledges signed
//! events, restored into a fresh data directory with the source's keychain entries gone; the
//! refusals of a restore (each leaves nothing behind); what the file shows without its
//! passphrase; `doctor`.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::dsr::assert_private;
use crate::support::*;

const PASS: &str = "correct horse battery staple";

fn backup(dir: &Path, out: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["backup", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    cli_json(dir, &args, Some(&format!("{PASS}\n")))
}

fn restore(dir: &Path, file: &Path, pass: &str) -> std::process::Output {
    cli(
        dir,
        &["restore", file.to_str().unwrap(), "--json"],
        Some(&format!("{pass}\n")),
    )
}

/// The fields of `activity list` that a copy must hold as they were (the status and subject
/// may move on: linking continues after the copy).
fn activity(dir: &Path) -> Vec<Value> {
    let all = cli_json(dir, &["activity", "list", "--limit", "100000"], None);
    all.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e["id"], "source": e["source"], "event_type": e["event_type"],
                "event_id": e["event_id"], "occurred_at": e["occurred_at"],
                "received_at": e["received_at"],
            })
        })
        .collect()
}

fn event_ids(rows: &[Value]) -> BTreeSet<String> {
    rows.iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect()
}

fn namespace(dir: &Path) -> String {
    cli_json(dir, &["doctor"], None)["keychain_namespace"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_backup_taken_while_receiving_restores_everything_acknowledged_on_a_fresh_keychain() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("source");
    let (pid, path) = add_stripe(&src);
    for email in ["ann@example.com", "bob@example.com"] {
        cli_json(&src, &["dsr", "new", "access", "--email", email], None);
    }
    cli_json(
        &src,
        &["dsr", "new", "erasure", "--email", "cy@example.com"],
        None,
    );
    let server = Server::start(&src);
    let addr = server.addr;

    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..4)
        .map(|s| {
            let (acked, stop, path) = (acked.clone(), stop.clone(), path.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let id = format!("evt_bk_{s}_{n}");
                    let (status, _) = post_signed(addr, &path, &event_body(&id));
                    if status == 200 {
                        acked.lock().unwrap().insert(id);
                    }
                    n += 1;
                }
            })
        })
        .collect();
    eventually("events acknowledged", || acked.lock().unwrap().len() > 200);
    let before: BTreeSet<String> = acked.lock().unwrap().clone();
    let file = tmp.path().join("shop.pdbackup");
    let report = backup(&src, &file, &["--include-credentials"]);
    eventually("more events after the backup", || {
        acked.lock().unwrap().len() > before.len() + 100
    });
    stop.store(true, Ordering::SeqCst);
    for s in senders {
        s.join().unwrap();
    }
    drop(server);
    let all_acked = acked.lock().unwrap().clone();
    assert_private(&file);
    assert_eq!(report["path"], file.to_str().unwrap());
    assert_eq!(report["manifest"]["credentials_included"], true);

    // The laptop is gone: its data directory and every keychain entry of its install.
    let src_activity = activity(&src);
    let src_dsrs = cli_json(&src, &["dsr", "list"], None);
    let ns = namespace(&src);
    std::fs::remove_dir_all(&src).unwrap();
    let other = tmp.path().join("other");
    cli_json(&other, &["doctor", "--remove-namespace", &ns], None);
    std::fs::remove_dir_all(&other).unwrap();

    let dst = tmp.path().join("new-computer");
    let r = json_of(&restore(&dst, &file, PASS), "restore");
    assert_eq!(r["audit_intact"], true, "{r}");
    assert_eq!(r["secrets_to_reenter"], serde_json::json!([]), "{r}");
    assert_ne!(namespace(&dst), ns, "a restored copy is a new install");

    let restored = activity(&dst);
    let got = event_ids(&restored);
    let missing: Vec<_> = before.difference(&got).collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup, not restored: {missing:?}"
    );
    let unacked: Vec<_> = got.difference(&all_acked).collect();
    assert!(
        unacked.is_empty(),
        "restored but never acknowledged: {unacked:?}"
    );
    assert_eq!(
        report["manifest"]["counts"]["events"].as_u64().unwrap() as usize,
        restored.len()
    );
    // Each restored event is the source's, field for field.
    let src_same: Vec<Value> = src_activity
        .into_iter()
        .filter(|e| got.contains(e["event_id"].as_str().unwrap()))
        .collect();
    assert_eq!(restored, src_same);
    assert_eq!(cli_json(&dst, &["dsr", "list"], None), src_dsrs);
    let verify = cli(&dst, &["audit", "verify"], None);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let actions: Vec<String> = cli_json(&dst, &["audit", "list"], None)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions.last().map(String::as_str), Some("backup.restored"));

    // The restored install receives with the signing secret and URL the backup carried.
    let shown = cli_json(&dst, &["processor", "show", &pid.to_string()], None);
    assert_eq!(shown["webhook_path"], path.as_str());
    let server = Server::start(&dst);
    let (status, body) = post_signed(server.addr, &path, &event_body("evt_after_restore"));
    assert_eq!((status, body["outcome"].as_str()), (200, Some("accepted")));
    // And what it had is still known: a duplicate is a duplicate.
    let old = before.iter().next().unwrap();
    let (status, body) = post_signed(server.addr, &path, &event_body(old));
    assert_eq!((status, body["outcome"].as_str()), (200, Some("duplicate")));
}

/// Files and folders under `dir` (none if it does not exist).
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(tree(&p));
            }
            out.push(p);
        }
    }
    out
}

fn refused(out: &std::process::Output, code: i32, says: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert!(err.contains(says), "expected “{says}” in: {err}");
    assert!(err.contains("nothing was restored"), "{err}");
    assert!(out.stdout.is_empty());
}

/// Decrypts a backup, lets `edit` change the manifest, encrypts it again (same format).
fn rewrite_manifest(file: &Path, out: &Path, edit: impl FnOnce(&mut Value)) {
    let d = age::Decryptor::new(std::fs::File::open(file).unwrap()).unwrap();
    let id = age::scrypt::Identity::new(PASS.to_owned().into());
    let mut plain = Vec::new();
    d.decrypt(std::iter::once(&id as &dyn age::Identity))
        .unwrap()
        .read_to_end(&mut plain)
        .unwrap();
    let mut edit = Some(edit);
    let mut archive = tar::Archive::new(&plain[..]);
    let mut builder = tar::Builder::new(Vec::new());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if name == "manifest.json" {
            let mut m: Value = serde_json::from_slice(&data).unwrap();
            (edit.take().unwrap())(&mut m);
            data = serde_json::to_vec(&m).unwrap();
        }
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        builder.append_data(&mut h, &name, &data[..]).unwrap();
    }
    let inner = builder.into_inner().unwrap();
    let e = age::Encryptor::with_user_passphrase(PASS.to_owned().into());
    let mut w = e.wrap_output(std::fs::File::create(out).unwrap()).unwrap();
    w.write_all(&inner).unwrap();
    w.finish().unwrap();
}

#[test]
fn a_restore_refuses_bad_input_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("source");
    add_stripe(&src);
    cli_json(
        &src,
        &["dsr", "new", "access", "--email", "ann@example.com"],
        None,
    );
    let good = tmp.path().join("good.pdbackup");
    backup(&src, &good, &[]);
    let bytes = std::fs::read(&good).unwrap();
    let write = |name: &str, b: &[u8]| {
        let p = tmp.path().join(name);
        std::fs::write(&p, b).unwrap();
        p
    };

    // A data directory that holds anything is refused, and left as it was.
    let busy = tmp.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "keep me").unwrap();
    refused(&restore(&busy, &good, PASS), 2, "is not empty");
    assert_eq!(tree(&busy), vec![busy.join("notes.txt")]);
    // So is the source's own, live one.
    refused(&restore(&src, &good, PASS), 2, "is not empty");

    let truncated_half = write("half.pdbackup", &bytes[..bytes.len() / 2]);
    let truncated_end = write("end.pdbackup", &bytes[..bytes.len() - 20]);
    let truncated_head = write("head.pdbackup", &bytes[..40]);
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    let altered = write("altered.pdbackup", &flipped);
    let not_ours = write("notes.pdbackup", b"PK\x03\x04 not a backup at all");
    let newer = tmp.path().join("newer.pdbackup");
    rewrite_manifest(&good, &newer, |m| m["schema_version"] = 999.into());
    let other_format = tmp.path().join("format.pdbackup");
    rewrite_manifest(&good, &other_format, |m| m["format"] = 2.into());
    let wrong_db = tmp.path().join("wrongdb.pdbackup");
    rewrite_manifest(&good, &wrong_db, |m| {
        m["database"]["sha256"] = "00".repeat(32).into()
    });
    let cases: [(&Path, &str, &str); 9] = [
        (&good, "not the passphrase", "passphrase does not open"),
        (&truncated_half, PASS, "damaged"),
        (&truncated_end, PASS, "damaged"),
        (&truncated_head, PASS, "damaged"),
        (&altered, PASS, "damaged"),
        (&not_ours, PASS, "not a Privacy Desk backup"),
        (&newer, PASS, "newer Privacy Desk"),
        (&other_format, PASS, "format 2"),
        (&wrong_db, PASS, "not the one its manifest names"),
    ];
    for (file, pass, says) in cases {
        // Into a directory that does not exist: it is not created.
        let fresh = tmp.path().join("fresh");
        let out = restore(&fresh, file, pass);
        refused(&out, 2, says);
        assert!(!fresh.exists(), "{} left {fresh:?} behind", file.display());
        // Into an empty one: it stays empty.
        let empty = tmp.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        refused(&restore(&empty, file, pass), 2, says);
        assert_eq!(tree(&empty), Vec::<PathBuf>::new(), "{}", file.display());
    }
    let missing = restore(
        &tmp.path().join("x"),
        &tmp.path().join("nope.pdbackup"),
        PASS,
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(!tmp.path().join("x").exists());
    // A passphrase too short to protect a file for years is refused when backing up.
    let out = cli(
        &src,
        &["backup", "--out", tmp.path().join("weak").to_str().unwrap()],
        Some("short\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12 characters"));
    assert!(!tmp.path().join("weak").exists());
    // Nor can a backup go into the data directory it backs up (over the database, say).
    let db = src.join("privacy-desk.db");
    let out = cli(
        &src,
        &["backup", "--out", db.to_str().unwrap()],
        Some(&format!("{PASS}\n")),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("data directory it backs up"));
    assert_eq!(&std::fs::read(&db).unwrap()[..15], b"SQLite format 3");
}

#[test]
fn without_its_passphrase_a_backup_shows_no_secret_and_no_personal_data() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("source");
    let (_, path) = add_stripe(&src);
    let token = path.split("token=").nth(1).unwrap().to_owned();
    let server = Server::start(&src);
    let email = "erin.backup-probe@example.com";
    let body = format!(
        r#"{{"id":"evt_probe","object":"event","type":"customer.created","created":1762798961,"livemode":false,
"data":{{"object":{{"id":"cus_probe","object":"customer","email":"{email}","name":"Erin Probe-Backup"}}}}}}"#
    );
    assert_eq!(post_signed(server.addr, &path, body.as_bytes()).0, 200);
    eventually("the subject linked", || {
        cli_json(&src, &["subjects", "list"], None)
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["email"] == email)
    });
    drop(server);
    cli_json(&src, &["dsr", "new", "access", "--email", email], None);
    let file = tmp.path().join("b.pdbackup");
    backup(&src, &file, &["--include-credentials"]);
    let bytes = std::fs::read(&file).unwrap();
    for needle in [
        email,
        "erin.backup",
        "Erin Probe",
        SECRET,
        "whsec_",
        token.as_str(),
        "cus_probe",
        "evt_probe",
        "customer.created",
        "SQLite format",
        "manifest.json",
        "hash-key",
    ] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "the backup shows {needle:?} without its passphrase"
        );
    }
    // And with it, the restore has them (the probe is not vacuous).
    let dst = tmp.path().join("dst");
    json_of(&restore(&dst, &file, PASS), "restore");
    let shown = cli_json(&dst, &["subjects", "show", email], None);
    assert_eq!(shown["email"], email);
}

#[test]
fn without_the_credentials_a_restore_says_which_secrets_to_enter_again_and_doctor_agrees() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("source");
    let (pid, _) = add_stripe(&src);
    cli_json(
        &src,
        &["processor", "rename", &pid.to_string(), "Shop Stripe"],
        None,
    );

    // A fresh install: no backup yet, nothing receiving (warnings, exit 0).
    let d = cli_json(&src, &["doctor"], None);
    let status = |d: &Value, name: &str| {
        d["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} check in {d}"))["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for (name, want) in [
        ("database", "ok"),
        ("audit", "ok"),
        ("keychain", "ok"),
        ("receiver", "warning"),
        ("backup", "warning"),
        ("disk", "ok"),
    ] {
        assert_eq!(status(&d, name), want, "{name}: {d}");
    }
    assert_eq!(d["status"], "warning");

    let file = tmp.path().join("lean.pdbackup");
    let report = backup(&src, &file, &[]);
    assert_eq!(
        report["manifest"]["secrets"],
        serde_json::json!(["app/hash-key"])
    );
    let d = cli_json(&src, &["doctor"], None);
    assert_eq!(status(&d, "backup"), "ok", "{d}");

    let dst = tmp.path().join("dst");
    let r = json_of(&restore(&dst, &file, PASS), "restore");
    assert_eq!(r["audit_intact"], true);
    let again = r["secrets_to_reenter"].as_array().unwrap();
    let what: Vec<(&str, bool)> = again
        .iter()
        .map(|s| {
            (
                s["secret"].as_str().unwrap(),
                s["stops_working"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        what,
        [
            ("webhook signing secret", true),
            ("webhook URL token", false)
        ]
    );
    assert!(again[0]["fix"]
        .as_str()
        .unwrap()
        .contains("Processors → Shop Stripe → Signing secret"));
    assert_eq!(again[0]["processor_id"], pid);

    // doctor: a problem (exit 1) until the signing secret is entered again.
    let out = cli(&dst, &["doctor", "--json"], None);
    assert_eq!(out.status.code(), Some(1));
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status(&d, "keychain"), "problem");
    assert_eq!(d["status"], "problem");
    let set = cli(
        &dst,
        &["processor", "set-secret", &pid.to_string()],
        Some(&format!("{SECRET}\n")),
    );
    assert!(set.status.success());
    let d = cli_json(&dst, &["doctor"], None);
    assert_eq!(
        status(&d, "keychain"),
        "warning",
        "only the URL token is left: {d}"
    );
}
