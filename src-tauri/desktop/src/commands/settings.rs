use tauri::{AppHandle, Manager};

use crate::state::AppState;
use privacy_desk_core::domain::settings::{self, Settings};
use privacy_desk_core::error::{Error, Result};

pub async fn get(app: AppHandle) -> Result<Settings> {
    settings::get(&app.state::<AppState>().ctx)
}

pub async fn save(app: AppHandle, settings: Settings) -> Result<Settings> {
    let state = app.state::<AppState>();
    let before = settings::get(&state.ctx)?;
    let saved = settings::save(&state.ctx, settings)?;
    if saved.receiver_port != before.receiver_port {
        crate::state::restart_receiver(&app);
    }
    if saved.background_receiving {
        crate::tray::ensure_tray(&app);
    }
    Ok(saved)
}

/// The keychain check of `doctor`: this install's entries, and orphans nothing will read.
pub async fn keychain_check(app: AppHandle) -> Result<privacy_desk_core::doctor::Report> {
    super::blocking(app, |s| {
        privacy_desk_core::doctor::check(&s.ctx, &privacy_desk_core::doctor::Remove::default())
    })
    .await
}

/// Removes the orphaned keychain entries (never another live install's), as `doctor
/// --remove-orphans` does; recorded in the audit trail.
pub async fn keychain_remove_orphans(app: AppHandle) -> Result<privacy_desk_core::doctor::Report> {
    let remove = privacy_desk_core::doctor::Remove {
        orphans: true,
        namespaces: Vec::new(),
    };
    super::blocking(app, move |s| {
        privacy_desk_core::doctor::check(&s.ctx, &remove)
    })
    .await
}

/// Whether the OS starts Privacy Desk at login (its autostart entry exists).
pub async fn autostart_get(app: AppHandle) -> Result<bool> {
    use tauri_plugin_autostart::ManagerExt;
    app.autolaunch()
        .is_enabled()
        .map_err(|e| Error::Io(format!("cannot read the start-at-login setting: {e}")))
}

/// Turns start at login on or off; returns the setting as it is now. At login the app starts
/// in the tray, receiving, without a window.
pub async fn autostart_set(app: AppHandle, enabled: bool) -> Result<bool> {
    use tauri_plugin_autostart::ManagerExt;
    let launcher = app.autolaunch();
    let changed = if enabled {
        launcher.enable()
    } else {
        launcher.disable()
    };
    changed.map_err(|e| Error::Io(format!("cannot change start at login: {e}")))?;
    launcher
        .is_enabled()
        .map_err(|e| Error::Io(format!("cannot read the start-at-login setting: {e}")))
}
