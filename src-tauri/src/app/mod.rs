//! The desktop app: the only place that builds `tauri::Builder` (plugins, state, windows).

use std::path::Path;

use crate::commands;
use crate::context::Context;
use crate::error::{Error, Result};

/// State shared with every command.
pub struct AppState {
    pub ctx: Context,
}

pub fn run(data_dir: &Path) -> Result<()> {
    let ctx = Context::open(data_dir)?;
    tauri::Builder::default()
        .manage(AppState { ctx })
        .invoke_handler(tauri::generate_handler![commands::app_info])
        .run(tauri::generate_context!())
        .map_err(|e| Error::Io(format!("the window could not start: {e}")))
}
