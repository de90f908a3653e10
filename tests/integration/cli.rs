//! The command line's promises: JSON on stdout only, clear one-line errors, exit codes,
//! secrets never echoed, separate data dirs.

use crate::support::*;
use serde_json::{json, Value};

#[test]
fn errors_are_one_clear_line_with_the_right_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Not a signing secret: bad input, exit 2, and the value is not repeated back.
    let out = cli(
        d,
        &[
            "processor",
            "add",
            "stripe",
            "--signing-secret-stdin",
            "--json",
        ],
        Some("sk_live_not_a_webhook_secret\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("whsec_"), "{err}");
    assert!(!err.contains("sk_live_not_a_webhook_secret"));
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(out.stdout.is_empty());
    // Empty stdin.
    let out = cli(
        d,
        &["processor", "add", "stripe", "--signing-secret-stdin"],
        Some(""),
    );
    assert_eq!(out.status.code(), Some(2));
    // Unknown processor.
    let out = cli(d, &["processor", "show", "42", "--json"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("processor list"));
    // Bad date.
    let out = cli(d, &["activity", "list", "--since", "last tuesday"], None);
    assert_eq!(out.status.code(), Some(2));
    // Bad usage.
    assert_eq!(
        cli(d, &["processor", "frobnicate"], None).status.code(),
        Some(2)
    );
}

#[test]
fn secrets_stay_in_the_keychain_and_data_dirs_are_separate() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (id, path) = add_stripe(a.path());
    assert!(path.starts_with("/webhooks/stripe/") && path.contains("?token="));
    let shown = cli_json(a.path(), &["processor", "show", &id.to_string()], None);
    assert_eq!(
        shown["webhook_path"],
        path.as_str(),
        "the token is shown again from the keychain"
    );
    assert_eq!(shown["status"], "awaiting_first_event");
    assert_eq!(shown["webhook_url"], format!("http://127.0.0.1:8787{path}"));
    let listed = cli_json(a.path(), &["processor", "list"], None);
    assert!(!listed.to_string().contains(SECRET));
    // Another data dir sees nothing of the first.
    assert_eq!(
        cli_json(b.path(), &["processor", "list"], None),
        serde_json::json!([])
    );
    // Rotating the secret: the new one works in a running receiver, without a restart.
    let server = Server::start(a.path());
    let body = event_body("evt_before");
    assert_eq!(post_signed(server.addr, &path, &body).0, 200);
    let out = cli(
        a.path(),
        &["processor", "set-secret", &id.to_string()],
        Some("whsec_rotated_secret_value\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(std::time::Duration::from_millis(5100));
    let body = event_body("evt_after");
    let sig = privacy_desk_core::stripe::signature::sign(
        &body,
        &privacy_desk_core::secrets::Secret::new("whsec_rotated_secret_value"),
        now(),
    );
    assert_eq!(
        post(server.addr, &path, &body, &[("Stripe-Signature", &sig)]).0,
        200
    );
    // The database file is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(a.path().join("privacy-desk.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// `privacy-desk` is the headless program: it links no GUI library (ADR 0003), so the
/// receiver in the background does not carry WebKitGTK. Its window is `privacy-desk-gui`.
#[cfg(target_os = "linux")]
#[test]
fn the_headless_binary_links_no_gui_library() {
    let out = std::process::Command::new("readelf")
        .args(["-d", bin()])
        .output()
        .expect("readelf (binutils) is installed with build-essential");
    assert!(out.status.success());
    let dynamic = String::from_utf8_lossy(&out.stdout);
    let needed: Vec<&str> = dynamic.lines().filter(|l| l.contains("(NEEDED)")).collect();
    assert!(needed.iter().any(|l| l.contains("libc.so")), "{dynamic}");
    for gui in [
        "webkit",
        "gtk",
        "gdk",
        "javascriptcore",
        "soup",
        "appindicator",
        "xdo",
    ] {
        assert!(
            !needed.iter().any(|l| l.to_ascii_lowercase().contains(gui)),
            "privacy-desk links {gui}: {needed:?}"
        );
    }
}

#[test]
fn a_processor_is_renamed_and_the_audit_trail_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let (id, path) = add_stripe(dir.path());
    let id_s = id.to_string();
    let renamed = cli_json(
        dir.path(),
        &["processor", "rename", &id_s, "  Stripe (shop)  "],
        None,
    );
    assert_eq!(renamed["name"], "Stripe (shop)");
    // Same endpoint: the webhook URL does not change with the name.
    assert_eq!(renamed["webhook_path"], path.as_str());
    let listed = cli_json(dir.path(), &["processor", "list"], None);
    assert_eq!(listed[0]["name"], "Stripe (shop)");
    let audit = cli_json(dir.path(), &["audit", "list"], None);
    let entry = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "processor.renamed")
        .expect("a processor.renamed entry");
    assert_eq!(entry["details"]["processor_id"], id);
    assert_eq!(entry["details"]["to"], "Stripe (shop)");
    let out = cli(dir.path(), &["audit", "verify"], None);
    assert!(out.status.success());
    // Refused: an empty name, an unknown processor.
    let out = cli(dir.path(), &["processor", "rename", &id_s, "  "], None);
    assert!(!out.status.success());
    let out = cli(dir.path(), &["processor", "rename", "999", "X"], None);
    assert!(!out.status.success());
}

#[test]
fn a_removed_processor_keeps_its_events_and_its_url_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (id, path) = add_stripe(dir.path());
    let id_s = id.to_string();
    let f = &fixtures()[0];
    {
        let server = Server::start(dir.path());
        let (status, body) = post_signed(server.addr, &path, &f.body);
        assert_eq!(status, 200, "{body}");
        server.stop();
    }
    // Without --yes: refused, nothing removed.
    let out = cli(dir.path(), &["processor", "remove", &id_s], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert_eq!(
        cli_json(dir.path(), &["processor", "list"], None)[0]["id"],
        id
    );

    let removed = cli_json(dir.path(), &["processor", "remove", &id_s, "--yes"], None);
    assert_eq!(removed["processor"]["status"], "removed");
    assert_eq!(
        removed["stripe_webhook"],
        Value::Null,
        "no webhook was registered at Stripe"
    );
    assert_eq!(
        cli_json(dir.path(), &["processor", "list"], None),
        json!([])
    );
    assert_eq!(
        cli_json(dir.path(), &["processor", "removed"], None)[0]["id"],
        id
    );
    // Its event stays in the log.
    let events = cli_json(dir.path(), &["activity", "list"], None);
    assert_eq!(events.as_array().map(Vec::len), Some(1), "{events}");
    // The receiver refuses its URL, and stores nothing.
    let server = Server::start(dir.path());
    let (status, _) = post_signed(server.addr, &path, &fixtures()[1].body);
    assert_eq!(status, 401, "a removed processor's URL must be refused");
    server.stop();
    let events = cli_json(dir.path(), &["activity", "list"], None);
    assert_eq!(events.as_array().map(Vec::len), Some(1));
    // The RoPA's activities still name it, marked removed.
    let ropa = dir.path().join("ropa.json");
    let ropa_arg = ropa.to_str().unwrap();
    let out = cli(
        dir.path(),
        &["ropa", "export", "--format", "json", "--out", ropa_arg],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported = std::fs::read_to_string(&ropa).unwrap();
    assert!(exported.contains("Stripe (removed)"), "{exported}");
    // Removing it again is a clear error.
    let out = cli(dir.path(), &["processor", "remove", &id_s, "--yes"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("was removed"));
    assert!(cli(dir.path(), &["audit", "verify"], None).status.success());
}
