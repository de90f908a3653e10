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
