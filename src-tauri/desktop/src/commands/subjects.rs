use crate::state::AppState;
use privacy_desk_core::domain::subjects::{self, Subject, SubjectPage};
use privacy_desk_core::error::Result;

#[tauri::command]
pub async fn subjects_search(
    state: tauri::State<'_, AppState>,
    text: String,
) -> Result<Vec<Subject>> {
    subjects::search(&state.ctx.db, &text)
}

#[tauri::command]
pub async fn subject_detail(state: tauri::State<'_, AppState>, id: i64) -> Result<SubjectPage> {
    subjects::page(&state.ctx.db, id)
}
