use tauri::AppHandle;

use crate::app::AppState;
use crate::error::Result;
use crate::settings::{self, Settings};

#[tauri::command]
pub async fn settings_get(state: tauri::State<'_, AppState>) -> Result<Settings> {
    settings::get(&state.ctx)
}

#[tauri::command]
pub async fn settings_save(
    app: AppHandle,
    state: tauri::State<'_, AppState>,
    settings: Settings,
) -> Result<Settings> {
    let before = settings::get(&state.ctx)?;
    let saved = settings::save(&state.ctx, settings)?;
    if saved.receiver_port != before.receiver_port {
        crate::app::restart_receiver(&app);
    }
    if saved.background_receiving {
        crate::app::ensure_tray(&app);
    }
    Ok(saved)
}

/// The keychain check of `doctor`: this install's entries, and orphans nothing will read.
#[tauri::command]
pub async fn keychain_check(app: AppHandle) -> Result<crate::doctor::Report> {
    super::blocking(app, |s| {
        crate::doctor::check(&s.ctx, &crate::doctor::Remove::default())
    })
    .await
}

/// Removes the orphaned keychain entries (never another live install's), as `doctor
/// --remove-orphans` does; recorded in the audit trail.
#[tauri::command]
pub async fn keychain_remove_orphans(app: AppHandle) -> Result<crate::doctor::Report> {
    let remove = crate::doctor::Remove {
        orphans: true,
        namespaces: Vec::new(),
    };
    super::blocking(app, move |s| crate::doctor::check(&s.ctx, &remove)).await
}
