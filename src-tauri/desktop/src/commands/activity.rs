use crate::state::AppState;
use privacy_desk_core::domain::activity::{self, ActivityDetail, ActivityPage, ActivityQuery};
use privacy_desk_core::error::Result;

#[tauri::command]
pub async fn activity_query(
    state: tauri::State<'_, AppState>,
    query: ActivityQuery,
) -> Result<ActivityPage> {
    activity::page(&state.ctx.db, &query)
}

#[tauri::command]
pub async fn activity_detail(state: tauri::State<'_, AppState>, id: i64) -> Result<ActivityDetail> {
    activity::detail(&state.ctx.db, id)
}

/// Writes the filtered log to `path`: the save dialog's answer, or a file in Downloads.
#[tauri::command]
pub async fn activity_export_csv(
    state: tauri::State<'_, AppState>,
    query: ActivityQuery,
    path: String,
) -> Result<usize> {
    let path = state.destinations.file(&path)?;
    activity::export_csv(&state.ctx.db, &query, &path)
}
