use crate::app::AppState;
use crate::error::Result;
use crate::subjects::{self, Subject, SubjectPage};

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
