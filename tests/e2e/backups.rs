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

/// A Stripe processor and the fixture corpus, signed, over HTTP; returns how many were new.
fn seed(dir: &std::path::Path) -> u64 {
    let (_, path) = support::add_stripe(dir);
    let server = support::Server::start(dir);
    let mut accepted = 0;
    for f in support::fixtures() {
        let (status, body) = support::post_signed(server.addr, &path, &f.body);
        assert_eq!(status, 200, "{} was refused: {body}", f.file);
        accepted += u64::from(body["outcome"] == "accepted");
    }
    server.stop();
    accepted
}

#[test]
fn back_up_now_from_settings_and_the_health_card_shows_it() {
    let data_dir = tempfile::tempdir().expect("create a temporary data dir");
    let accepted = seed(data_dir.path());
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

/// The pids of live processes with `arg` among their arguments.
fn pids_with_arg(arg: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            cmdline
                .split(|b| *b == 0)
                .any(|a| a == arg.as_bytes())
                .then_some(pid)
        })
        .collect()
}

/// The restored copies waiting beside `data_dir` for the app's restart.
fn staged_copies(data_dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(data_dir.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".privacy-desk-restore-")
        })
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

#[test]
fn a_new_install_restores_a_backup_from_the_window_and_restarts_into_it() {
    // The old computer: a Stripe processor and the fixtures, backed up with the credentials.
    let old = tempfile::tempdir().unwrap();
    let accepted = seed(old.path());
    let kept = tempfile::tempdir().unwrap();
    let file = kept.path().join("shop.pdbackup");
    cli_json(
        old.path(),
        &[
            "backup",
            "--out",
            file.to_str().unwrap(),
            "--include-credentials",
        ],
        &format!("{PASS}\n"),
    );

    // The new computer: a fresh install, the backup copied into its Downloads folder.
    let app = RunningApp::launch("restore");
    let s = &app.session;
    let dir = app.data_dir.path().to_str().unwrap().to_owned();
    std::fs::create_dir_all(&app.driver.downloads).unwrap();
    std::fs::copy(&file, app.driver.downloads.join("shop.pdbackup")).unwrap();
    s.wait_for_text_containing("#restore-hint", "Restore");
    s.click("#nav-settings");
    s.wait_for_text("#main h1", "Settings");
    let item = "#restore-list li[data-backup-name=\"shop.pdbackup\"]";
    s.wait_for_text_containing(item, "shop.pdbackup");
    s.click(&format!("{item} button.restore-pick"));
    s.replace_text("#restore-pass", "not the passphrase at all");
    s.click("#restore-go");
    s.wait_for_text_containing("#restore-error", "passphrase does not open");
    let staged_before = staged_copies(app.data_dir.path());
    s.replace_text("#restore-pass", PASS);
    s.click("#restore-go");
    let result = s.wait_for_text_containing("#restore-result", "intact");
    assert!(result.contains(&accepted.to_string()), "{result}");
    s.save_screenshot("restore-done");
    let before: Vec<u32> = pids_with_arg(&dir);
    // Clicked from a timer: the app restarts at once, and the WebDriver session (the old
    // process's) would end inside the click's own command.
    s.execute(
        "setTimeout(() => document.querySelector('#restore-restart').click(), 300)",
        serde_json::json!([]),
    )
    .unwrap();

    // The app restarts into the restored records: the CLI reads them from its data directory.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let events = loop {
        let restarted = pids_with_arg(&dir).iter().any(|p| !before.contains(p));
        let n = restarted
            .then(|| cli_json(app.data_dir.path(), &["activity", "list"], ""))
            .and_then(|v| v.as_array().map(Vec::len))
            .unwrap_or(0);
        if n as u64 == accepted || std::time::Instant::now() > deadline {
            break n;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(
        events as u64, accepted,
        "the restarted app holds the restored events"
    );
    assert!(!app.data_dir.path().join("restore-pending").exists());
    let verify = Command::new(super::app())
        .arg("--data-dir")
        .arg(app.data_dir.path())
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    // No restored copy is left beside the data directory.
    assert_eq!(staged_copies(app.data_dir.path()), staged_before);

    // The restarted window is not the driver's: close it here.
    for pid in pids_with_arg(&dir) {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
}
