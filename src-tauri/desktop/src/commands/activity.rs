use tauri::{AppHandle, Manager};

use crate::state::AppState;
use privacy_desk_core::domain::activity::{self, ActivityDetail, ActivityPage, ActivityQuery};
use privacy_desk_core::error::Result;

pub async fn query(app: AppHandle, query: ActivityQuery) -> Result<ActivityPage> {
    activity::page(&app.state::<AppState>().ctx.db, &query)
}

pub async fn detail(app: AppHandle, id: i64) -> Result<ActivityDetail> {
    activity::detail(&app.state::<AppState>().ctx.db, id)
}

/// Writes the filtered log to `path`: the save dialog's answer, or a file in Downloads.
pub async fn export_csv(app: AppHandle, query: ActivityQuery, path: String) -> Result<usize> {
    let state = app.state::<AppState>();
    let path = state.destinations.file(&path)?;
    activity::export_csv(&state.ctx.db, &query, &path)
}
