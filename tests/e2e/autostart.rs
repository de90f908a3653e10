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

/// Starts the app as a user (or the autostart entry) would, with `extra` arguments; once its
/// receiver listens, returns the X11 map state of its main window and whether its tray icon
/// exists, then stops it.
fn start_and_look(extra: &[&str]) -> (String, bool) {
    let _one = super::ONE_APP_AT_A_TIME
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap().to_owned();
    let mut child = std::process::Command::new(super::app())
        .args(["--data-dir", &dir])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 8787));
    wait_until("the receiver", || {
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    });
    let xwininfo = |args: &[&str]| {
        let out = std::process::Command::new("xwininfo")
            .args(args)
            .output()
            .expect("xwininfo (x11-utils, from make setup)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The tray icon comes just after the receiver: give it a moment.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut tree = xwininfo(&["-root", "-tree"]);
    while !tree.contains("tray-icon") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        tree = xwininfo(&["-root", "-tree"]);
    }
    let id_of = |name: &str| {
        tree.lines()
            .find(|l| l.contains(name))
            .and_then(|l| l.split_whitespace().next())
            .map(str::to_owned)
    };
    let state = id_of("\"Privacy Desk\":")
        .map(|id| xwininfo(&["-id", &id]))
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.trim().strip_prefix("Map State: ").map(str::to_owned))
        })
        .unwrap_or_else(|| format!("no main window in {tree}"));
    let tray = id_of("tray-icon").is_some();
    let _ = std::process::Command::new("kill")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
    crate::webdriver::wait_for_app_exit(&dir, Duration::from_secs(15)).unwrap();
    (state, tray)
}

#[test]
fn started_at_login_the_app_receives_in_the_tray_with_no_window_shown() {
    // Not through tauri-driver: a WebDriver session needs a window shown. X11 is asked.
    let (state, tray) = start_and_look(&["--at-login"]);
    assert_eq!(state, "IsUnMapped");
    assert!(tray, "the tray icon is there to open the window");
    // Started by the user, the same program shows its window.
    let (state, _) = start_and_look(&[]);
    assert_eq!(state, "IsViewable");
}
