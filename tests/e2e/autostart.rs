//! Issue 23 in the window: Settings → "Start Privacy Desk when I log in" writes the OS's
//! autostart entry (on Linux an XDG autostart file) that starts the app in the tray with this
//! data directory, and removes it when turned off.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::RunningApp;

/// The autostart entries under `home`.
fn entries(home: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(home.join(".config/autostart"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "desktop"))
        .collect()
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn start_at_login_writes_the_autostart_entry_and_removes_it() {
    // The app's own home, so the developer's login items are never touched.
    let home = tempfile::tempdir().unwrap();
    let home_s = home.path().to_str().unwrap().to_owned();
    let app = RunningApp::launch_with_env("autostart", &[("HOME", &home_s)]);
    let s = &app.session;
    s.click("#nav-settings");
    s.wait_for_text("#main h1", "Settings");
    let checked = |s: &crate::webdriver::Session| {
        s.execute(
            "return document.querySelector('#set-autostart').checked",
            serde_json::json!([]),
        )
        .unwrap()
    };
    s.wait_for("the switch to load", |s| {
        s.find("#set-autostart").map(|_| ())
    });
    assert_eq!(checked(s), false, "off by default");
    assert!(entries(home.path()).is_empty());

    s.click("#set-autostart");
    wait_until("the autostart entry", || entries(home.path()).len() == 1);
    let entry = std::fs::read_to_string(&entries(home.path())[0]).unwrap();
    let exec = entry
        .lines()
        .find_map(|l| l.strip_prefix("Exec="))
        .unwrap_or_else(|| panic!("no Exec line in {entry}"));
    let dir = app.data_dir.path().to_str().unwrap();
    assert!(exec.contains("privacy-desk"), "{exec}");
    assert!(
        exec.ends_with(&format!("--at-login --data-dir {dir}")),
        "{exec}"
    );
    wait_until("the switch on", || checked(s) == true);

    s.click("#set-autostart");
    wait_until("the entry removed", || entries(home.path()).is_empty());
    wait_until("the switch off", || checked(s) == false);
}
