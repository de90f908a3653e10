//! The Reports screen: the RoPA preview and edits, the checklist, gaps, exports.

use serde::Serialize;
use tauri::{AppHandle, Manager};
use ts_rs::TS;

use crate::state::AppState;
use privacy_desk_core::error::{Error, Result};
use privacy_desk_core::files;
use privacy_desk_core::ropa::{
    self, ActivityFields, ChecklistItem, Format, ProcessingActivity, ProcessorDetails, Ropa,
    RopaProcessor,
};

pub async fn report(app: AppHandle) -> Result<Ropa> {
    ropa::report(&app.state::<AppState>().ctx)
}

pub async fn activity_save(
    app: AppHandle,
    id: Option<i64>,
    fields: ActivityFields,
    processor_ids: Vec<i64>,
) -> Result<ProcessingActivity> {
    ropa::save_activity(&app.state::<AppState>().ctx, id, fields, processor_ids)
}

pub async fn activity_delete(app: AppHandle, id: i64) -> Result<()> {
    ropa::delete_activity(&app.state::<AppState>().ctx, id)
}

pub async fn processor_save(
    app: AppHandle,
    processor_id: i64,
    details: ProcessorDetails,
) -> Result<RopaProcessor> {
    ropa::save_processor_details(&app.state::<AppState>().ctx, processor_id, details)
}

pub async fn checklist_set(
    app: AppHandle,
    key: String,
    done_on: Option<String>,
    evidence: String,
) -> Result<Vec<ChecklistItem>> {
    ropa::set_checklist(&app.state::<AppState>().ctx, &key, done_on, &evidence)
}

/// Writes the RoPA to `path` (the save dialog's answer, or a file in Downloads); returns how
/// many activities it holds.
pub async fn export(app: AppHandle, format: Format, path: String) -> Result<usize> {
    let state = app.state::<AppState>();
    let path = state.destinations.file(&path)?;
    Ok(ropa::export(&state.ctx, format, &path)?.activities.len())
}

/// A RoPA written into Downloads.
#[derive(Debug, Serialize, TS)]
pub struct Exported {
    pub path: String,
    pub activities: usize,
}

/// Writes the RoPA into the Downloads folder as `ropa-YYYY-MM-DD.EXT` (with ` (2)`… when that
/// name is taken): the one-click export, no dialog.
pub async fn export_to_downloads(app: AppHandle, format: Format) -> Result<Exported> {
    let state = app.state::<AppState>();
    let dir = files::downloads_dir()?;
    let stem = format!("ropa-{}", chrono::Local::now().format("%Y-%m-%d"));
    let path = files::free_name(&dir, &stem, format.extension()).ok_or_else(|| {
        Error::invalid("Downloads already holds 999 exports of today: save it elsewhere".to_owned())
    })?;
    let path = state.destinations.file(&path.to_string_lossy())?;
    let activities = ropa::export(&state.ctx, format, &path)?.activities.len();
    Ok(Exported {
        path: path.display().to_string(),
        activities,
    })
}
