//! The Reports screen: the RoPA preview and edits, the checklist, gaps, exports.

use crate::state::AppState;
use privacy_desk_core::domain::processors::Processor;
use privacy_desk_core::error::Result;
use privacy_desk_core::ropa::{
    self, ActivityFields, ChecklistItem, Format, ProcessingActivity, ProcessorDetails, Ropa,
    RopaProcessor,
};

#[tauri::command]
pub async fn ropa_report(state: tauri::State<'_, AppState>) -> Result<Ropa> {
    ropa::report(&state.ctx)
}

#[tauri::command]
pub async fn ropa_activity_save(
    state: tauri::State<'_, AppState>,
    id: Option<i64>,
    fields: ActivityFields,
    processor_ids: Vec<i64>,
) -> Result<ProcessingActivity> {
    ropa::save_activity(&state.ctx, id, fields, processor_ids)
}

#[tauri::command]
pub async fn ropa_activity_delete(state: tauri::State<'_, AppState>, id: i64) -> Result<()> {
    ropa::delete_activity(&state.ctx, id)
}

#[tauri::command]
pub async fn ropa_processor_save(
    state: tauri::State<'_, AppState>,
    processor_id: i64,
    details: ProcessorDetails,
) -> Result<RopaProcessor> {
    ropa::save_processor_details(&state.ctx, processor_id, details)
}

#[tauri::command]
pub async fn ropa_checklist_set(
    state: tauri::State<'_, AppState>,
    key: String,
    done_on: Option<String>,
    evidence: String,
) -> Result<Vec<ChecklistItem>> {
    ropa::set_checklist(&state.ctx, &key, done_on, &evidence)
}

/// Writes the RoPA to `path` (the save dialog's answer, or a file in Downloads); returns how
/// many activities it holds.
#[tauri::command]
pub async fn ropa_export(
    state: tauri::State<'_, AppState>,
    format: Format,
    path: String,
) -> Result<usize> {
    let path = state.destinations.file(&path)?;
    Ok(ropa::export(&state.ctx, format, &path)?.activities.len())
}

#[tauri::command]
pub async fn processor_add_manual(
    state: tauri::State<'_, AppState>,
    name: String,
) -> Result<Processor> {
    privacy_desk_core::domain::processors::add_manual(&state.ctx, &name)
}
