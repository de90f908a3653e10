//! The window's side of the background jobs (`privacy_desk_core::jobs`, the same scheduler
//! as `serve`'s): it shows deadline reminders as notifications and refreshes the Activity
//! Log when a job linked events.

use std::sync::Arc;

use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

use crate::state::AppState;
use privacy_desk_core::jobs::{Options, Scheduler};
use privacy_desk_core::requests::Reminder;

/// Starts the jobs and keeps them in the state (before the receiver, which nudges them).
pub fn start_jobs(app: &AppHandle) {
    let state = app.state::<AppState>();
    let notifier = app.clone();
    let emitter = app.clone();
    let mut opts = Options::default();
    opts.on_reminder = Some(Arc::new(move |r| notify_reminder(&notifier, r)));
    opts.on_linked = Some(Arc::new(move |n| {
        crate::commands::ACTIVITY_CHANGED.emit(&emitter, &n);
    }));
    let backup_notifier = app.clone();
    opts.on_backup_failed = Some(Arc::new(move |error| {
        let _ = backup_notifier
            .notification()
            .builder()
            .title("Privacy Desk: the daily backup failed")
            .body(format!("{error}. Open Settings → Backups to fix it."))
            .show();
    }));
    match Scheduler::start(&state.ctx, opts) {
        Ok(s) => *state.jobs.lock().expect("jobs slot") = Some(s),
        Err(e) => tracing::warn!(error = %e, "the background jobs did not start"),
    }
}

/// One notice per request, due date and threshold (7, 2, overdue); the jobs record it shown.
fn notify_reminder(app: &AppHandle, r: &Reminder) {
    let when = match r.days_left {
        d if d < 0 => format!("is overdue by {} day{}", -d, if d == -1 { "" } else { "s" }),
        d => format!("is due in {d} days"),
    };
    let _ = app
        .notification()
        .builder()
        .title(format!("Privacy Desk: request #{} {when}", r.request_id))
        .body(format!(
            "The {} request #{} must be answered by {}. Open Requests to finish it.",
            r.kind,
            r.request_id,
            r.due_at.get(..10).unwrap_or(&r.due_at)
        ))
        .show();
}
