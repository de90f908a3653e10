use tauri::{AppHandle, Manager};

use crate::state::AppState;
use privacy_desk_core::domain::settings::{self, Settings};
use privacy_desk_core::error::Result;

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
