use tauri::{AppHandle, Manager};

use crate::state::AppState;
use privacy_desk_core::domain::subjects::{self, Subject, SubjectPage};
use privacy_desk_core::error::Result;
use privacy_desk_core::requests::{self, Request};

pub async fn search(app: AppHandle, text: String) -> Result<Vec<Subject>> {
    subjects::search(&app.state::<AppState>().ctx.db, &text)
}

pub async fn detail(app: AppHandle, id: i64) -> Result<SubjectPage> {
    subjects::page(&app.state::<AppState>().ctx.db, id)
}

pub async fn requests(app: AppHandle, id: i64) -> Result<Vec<Request>> {
    requests::for_subject(&app.state::<AppState>().ctx, id)
}
