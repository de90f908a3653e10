use serde::Serialize;
use tauri::{AppHandle, Manager};
use ts_rs::TS;

use crate::state::{AppState, ReceiverStatus, TunnelStatus};
use privacy_desk_core::domain::dashboard::{self, Summary};
use privacy_desk_core::domain::deliveries::{self, Delivery};
use privacy_desk_core::error::Result;
use privacy_desk_core::jobs::{self, JobsReport};

#[derive(Debug, Serialize, TS)]
pub struct Dashboard {
    pub receiver: ReceiverStatus,
    pub tunnel: TunnelStatus,
    #[serde(flatten)]
    pub summary: Summary,
}

pub async fn dashboard(app: AppHandle) -> Result<Dashboard> {
    let state = app.state::<AppState>();
    Ok(Dashboard {
        receiver: state.receiver_status(),
        tunnel: state.tunnel_status(),
        summary: dashboard::summary(&state.ctx)?,
    })
}

pub async fn deliveries_list(app: AppHandle, limit: u32) -> Result<Vec<Delivery>> {
    deliveries::list(&app.state::<AppState>().ctx.db, limit, true, None)
}

pub async fn jobs_report(app: AppHandle) -> Result<JobsReport> {
    jobs::report(&app.state::<AppState>().ctx)
}
