//! The desktop app: the only place that builds `tauri::Builder` — plugins, state, the
//! in-process receiver, background work, the tray — and lists the commands.

use std::path::Path;
use std::sync::atomic::Ordering;

use tauri::{Manager, RunEvent, WindowEvent};

use crate::background::start_jobs;
use crate::commands;
use crate::state::{start_receiver, stop_receiver, AppState};
use crate::tray::{ensure_tray, show_main_window};
use privacy_desk_core::context::Context;
use privacy_desk_core::error::{Error, Result};

pub fn run(data_dir: &Path, at_login: bool) -> Result<()> {
    // A backup the window restored over this new install is moved in before it opens.
    if privacy_desk_core::backup::finish_pending_restore(data_dir)? {
        tracing::info!("a restored backup was moved into the data directory");
    }
    let ctx = Context::open(data_dir)?;
    let app = tauri::Builder::default()
        // First: a second launch focuses the running window instead.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            show_main_window(app);
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(autostart(data_dir))
        .plugin(
            tauri_plugin_log::Builder::new()
                .level(log::LevelFilter::Info)
                .build(),
        )
        .manage(AppState::new(ctx))
        .setup(move |app| {
            let handle = app.handle().clone();
            // Catch-up, Stripe lookups, purges, reminders: first, since the receiver nudges them.
            start_jobs(&handle);
            start_receiver(&handle);
            if at_login {
                // Started at login: no window until the officer opens it from the tray.
                ensure_tray(&handle);
                if let Some(w) = handle.get_webview_window("main") {
                    let _ = w.hide();
                }
            }
            let state = handle.state::<AppState>();
            if let Ok(s) = privacy_desk_core::domain::settings::get(&state.ctx) {
                if s.background_receiving {
                    ensure_tray(&handle);
                }
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                let state = window.state::<AppState>();
                let background = privacy_desk_core::domain::settings::get(&state.ctx)
                    .map(|s| s.background_receiving)
                    .unwrap_or(false);
                if background && !state.quitting.load(Ordering::SeqCst) {
                    // Keep receiving from the tray.
                    api.prevent_close();
                    let _ = window.hide();
                }
            }
        })
        .invoke_handler(commands::handler())
        .build(tauri::generate_context!())
        .map_err(|e| Error::Io(format!("the window could not start: {e}")))?;
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            let state = handle.state::<AppState>();
            state.stop_jobs();
            state.stop_tunnel();
            stop_receiver(handle);
            handle.state::<AppState>().ctx.db.shutdown();
        }
    });
    Ok(())
}

/// Start at login (off until the officer turns it on: Settings, the onboarding's last step):
/// the OS starts this program with `--at-login`, and with `--data-dir` when the data directory
/// is not the default one (and has no space, which an autostart entry's `Exec` line cannot
/// carry unquoted).
fn autostart(data_dir: &Path) -> tauri::plugin::TauriPlugin<tauri::Wry> {
    let mut b = tauri_plugin_autostart::Builder::new().arg("--at-login");
    let default = privacy_desk_core::context::default_data_dir().ok();
    let shown = data_dir.to_string_lossy();
    if default.as_deref() != Some(data_dir) && !shown.contains(char::is_whitespace) {
        b = b.arg("--data-dir").arg(shown.into_owned());
    }
    b.build()
}

#[cfg(test)]
mod tests {
    /// The window is granted only what its screens use: the app's own commands and core
    /// events. The save and folder dialogs are opened from Rust (`commands::files`), so the
    /// webview has no dialog permission; nothing opens URLs or paths.
    #[test]
    fn the_window_is_granted_only_what_it_uses() {
        let cap: serde_json::Value =
            serde_json::from_str(include_str!("../../capabilities/main.json")).unwrap();
        let granted: Vec<&str> = cap["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(granted, ["core:default"]);
    }
}
