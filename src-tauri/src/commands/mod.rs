//! `#[tauri::command]` functions: a few lines each, calling the same domain functions as the
//! CLI. One file per screen. Errors reach the frontend as `{code, message}`.

pub mod activity;
pub mod dashboard;
pub mod processors;
pub mod requests;
pub mod ropa;
pub mod settings;
pub mod stripe;
pub mod subjects;

use serde::Serialize;
use ts_rs::TS;

use crate::app::AppState;

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
