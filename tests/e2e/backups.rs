//! Issue 22 in the window: Settings → Backups — a passphrase kept in the keychain, "Back up
//! now" into the (test's) Downloads folder — then the file is checked: an age-encrypted file
//! that shows nothing without its passphrase and restores (with the CLI, into a new data
//! directory) to the events the app holds. The Dashboard's Health card shows the backup as good.

use std::process::{Command, Stdio};

use serde_json::Value;

use super::{app, support, RunningApp};

const PASS: &str = "a passphrase for the e2e test";

fn cli_json(dir: &std::path::Path, args: &[&str], stdin: &str) -> Value {
    use std::io::Write;
    let mut child = Command::new(app())
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .arg("--json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start privacy-desk");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn back_up_now_from_settings_and_the_health_card_shows_it() {
    let data_dir = tempfile::tempdir().expect("create a temporary data dir");
    let (_, path) = support::add_stripe(data_dir.path());
    let mut accepted = 0;
    {
        let server = support::Server::start(data_dir.path());
        for f in support::fixtures() {
            let (status, body) = support::post_signed(server.addr, &path, &f.body);
            assert_eq!(status, 200, "{} was refused: {body}", f.file);
            accepted += u64::from(body["outcome"] == "accepted");
        }
        server.stop();
    }
    let app = RunningApp::launch_on("backups", data_dir, &[]);
    let s = &app.session;

    // Before any backup, the Health card says so.
    s.wait_for_text_containing(
        "#health-card [data-check=\"backup\"]",
        "no backup was made yet",
    );

    s.click("#nav-settings");
    s.wait_for_text("#main h1", "Settings");
    // Two passphrases that differ are refused in the window.
    s.replace_text("#backup-pass", PASS);
    s.replace_text("#backup-pass2", "something else entirely");
    s.click("#backup-pass-save");
    s.wait_for_text_containing("#backup-pass-error", "match");
    s.replace_text("#backup-pass2", PASS);
    s.click("#backup-pass-save");
    s.wait_for_text_containing("#backup-pass-state", "Passphrase kept in the keychain");

    s.click("#backup-now");
    let shown = s.wait_for_text_containing("#backup-result", ".pdbackup");
    s.save_screenshot("backups-settings");
    let files: Vec<_> = std::fs::read_dir(&app.driver.downloads)
        .expect("the Downloads folder")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pdbackup"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    assert!(
        shown.contains(&*file.file_name().unwrap().to_string_lossy()),
        "{shown}"
    );
    let bytes = std::fs::read(file).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    for needle in [
        support::SECRET,
        "SQLite format",
        "customer.created",
        "@example.com",
    ] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "the backup shows {needle:?} without its passphrase"
        );
    }
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    // The Dashboard's Health card: the backup is good now.
    s.click("#nav-dashboard");
    let row = "#health-card [data-check=\"backup\"]";
    s.wait_for_text_containing(row, "OK");
    let statuses = s.attributes(row, "data-status").unwrap();
    assert_eq!(statuses, ["ok"]);
    s.save_screenshot("backups-dashboard");

    // The file restores, with the passphrase, to what the window holds.
    let restored = tempfile::tempdir().unwrap();
    let target = restored.path().join("data");
    let r = cli_json(
        &target,
        &["restore", file.to_str().unwrap()],
        &format!("{PASS}\n"),
    );
    assert_eq!(r["audit_intact"], true, "{r}");
    assert_eq!(r["manifest"]["counts"]["events"].as_u64(), Some(accepted));
    // The window's default carries the credentials: nothing to enter again.
    assert_eq!(r["secrets_to_reenter"], serde_json::json!([]), "{r}");
}
