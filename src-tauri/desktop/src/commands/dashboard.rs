use serde::Serialize;
use ts_rs::TS;

use crate::state::{AppState, ReceiverStatus, TunnelStatus};
use privacy_desk_core::domain::dashboard::{self, Summary};
use privacy_desk_core::domain::deliveries::{self, Delivery};
use privacy_desk_core::error::Result;

#[derive(Debug, Serialize, TS)]
pub struct Dashboard {
    pub receiver: ReceiverStatus,
    pub tunnel: TunnelStatus,
    #[serde(flatten)]
    pub summary: Summary,
}

#[tauri::command]
pub async fn dashboard(state: tauri::State<'_, AppState>) -> Result<Dashboard> {
    Ok(Dashboard {
        receiver: state.receiver_status(),
        tunnel: state.tunnel_status(),
        summary: dashboard::summary(&state.ctx)?,
    })
}

#[tauri::command]
pub async fn deliveries_list(
    state: tauri::State<'_, AppState>,
    limit: u32,
) -> Result<Vec<Delivery>> {
    deliveries::list(&state.ctx.db, limit, true)
}
