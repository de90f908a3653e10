//! Settings → Backups and the Dashboard's health card: the schedule, the passphrase, "Back up
//! now", and the checks of `privacy-desk doctor` (`privacy_desk_core::backup`, `health`).

use tauri::{AppHandle, Manager};

use crate::state::AppState;
use privacy_desk_core::backup::schedule::{self, FoundBackup, Schedule, ScheduleInput};
use privacy_desk_core::backup::{self, BackupReport, BackupStatus, RestoreReport};
use privacy_desk_core::error::Result;
use privacy_desk_core::health::Health;
use privacy_desk_core::secrets::Secret;

pub async fn status(app: AppHandle) -> Result<BackupStatus> {
    backup::status(&app.state::<AppState>().ctx)
}

/// Saves the schedule. A new folder must be the folder dialog's answer (or in Downloads).
pub async fn schedule_save(app: AppHandle, schedule: ScheduleInput) -> Result<Schedule> {
    let state = app.state::<AppState>();
    let before = schedule::get(&state.ctx)?;
    if let Some(f) = schedule.folder.as_deref() {
        if before.input.folder.as_deref() != Some(f) {
            state.destinations.folder(f)?;
        }
    }
    let saved = schedule::save(&state.ctx, schedule)?;
    if saved.input.enabled {
        if let Some(n) = state.jobs_nudger() {
            n.nudge(privacy_desk_core::jobs::Job::Backup);
        }
    }
    Ok(saved)
}

/// Keeps the backup passphrase in the keychain.
pub async fn set_passphrase(app: AppHandle, passphrase: String) -> Result<Schedule> {
    let secret = Secret::new(passphrase);
    super::blocking(app, move |s| schedule::set_passphrase(&s.ctx, &secret)).await
}

/// A backup now, into the schedule's folder (Downloads unless one was chosen).
pub async fn now(app: AppHandle) -> Result<BackupReport> {
    super::blocking(app, |s| schedule::back_up_now(&s.ctx)).await
}

/// Every health check (the receiver is the window's own). The integrity and audit-chain
/// checks, which read the whole database, are those of the last run if it is less than 10
/// minutes old, unless `fresh`; the others run every time.
pub async fn health(app: AppHandle, fresh: bool) -> Result<Health> {
    super::blocking(app, move |s| {
        s.health
            .run(&s.ctx, Some(s.receiver_status().running), fresh)
    })
    .await
}

/// The backup files in the backup folder and Downloads, newest first.
pub async fn found(app: AppHandle) -> Result<Vec<FoundBackup>> {
    super::blocking(app, |s| schedule::found(&s.ctx)).await
}

/// Restores the backup at `path` (one `backup_found` listed, or the open dialog's answer) over
/// this new install; the restored copy is moved in when the app restarts (`app_restart`).
pub async fn restore(app: AppHandle, path: String, passphrase: String) -> Result<RestoreReport> {
    let listed = {
        let ctx = &app.state::<AppState>().ctx;
        schedule::found(ctx)?.into_iter().any(|f| f.path == path)
    };
    let file = if listed {
        std::path::PathBuf::from(&path)
    } else {
        app.state::<AppState>().destinations.opened(&path)?
    };
    let secret = Secret::new(passphrase);
    super::blocking(app, move |s| {
        backup::restore_over_new_install(&s.ctx, &file, &secret)
    })
    .await
}

/// Restarts the app (after a restore: the copy is moved in before the database opens). The
/// exit goes through the event loop, which stops the jobs, the tunnel, the receiver and the
/// database writer first (`app::run`).
pub async fn restart(app: AppHandle) -> Result<()> {
    // As the tray's Quit does: the window closes even when it would keep receiving from the
    // tray.
    app.state::<AppState>()
        .quitting
        .store(true, std::sync::atomic::Ordering::SeqCst);
    app.request_restart();
    Ok(())
}
