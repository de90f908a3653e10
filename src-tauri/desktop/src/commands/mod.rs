//! `#[tauri::command]` functions: a few lines each, calling the same domain functions as the
//! CLI. One file per screen. Errors reach the frontend as `{code, message}`.

pub mod activity;
pub mod dashboard;
pub mod files;
pub mod processors;
pub mod requests;
pub mod ropa;
pub mod settings;
pub mod stripe;
pub mod subjects;

use serde::Serialize;
use ts_rs::TS;

use crate::state::AppState;

/// Runs `f` on a blocking thread: for commands that wait on the network (Stripe) or build
/// files, so that they never hold up the window's async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    app: tauri::AppHandle,
    f: impl FnOnce(&AppState) -> privacy_desk_core::error::Result<T> + Send + 'static,
) -> privacy_desk_core::error::Result<T> {
    use tauri::Manager;
    tauri::async_runtime::spawn_blocking(move || f(&app.state::<AppState>()))
        .await
        .map_err(|e| {
            privacy_desk_core::error::Error::Unavailable(format!("the task stopped: {e}"))
        })?
}

#[derive(Debug, Serialize, TS)]
pub struct AppInfo {
    pub name: &'static str,
    pub version: &'static str,
    pub data_dir: String,
}

#[tauri::command]
pub fn app_info(state: tauri::State<'_, AppState>) -> AppInfo {
    AppInfo {
        name: "Privacy Desk",
        version: env!("CARGO_PKG_VERSION"),
        data_dir: state.ctx.data_dir.display().to_string(),
    }
}
