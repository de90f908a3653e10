//! The window's background work on a thread of its own: erasures waiting for their WAL
//! checkpoint, the purge of retained records past retention, and deadline reminders.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

use crate::state::AppState;
use privacy_desk_core::context::Context;

/// How often the daily loop looks at the requests.
const DAILY_CHECK_EVERY: Duration = Duration::from_secs(60 * 60);

/// How often the loop retries erasures waiting for their WAL checkpoint.
const WAITING_ERASURES_EVERY: Duration = Duration::from_secs(60);

/// Completes erasures waiting for their WAL checkpoint (every minute), purges retained
/// financial records whose retention ended (once a day) and raises the deadline reminders
/// (checked every hour; each reminder shown once).
pub fn spawn_daily_loop(app: AppHandle, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("requests-daily".into())
        .spawn(move || {
            let mut purged_on: Option<chrono::NaiveDate> = None;
            let mut hourly: Option<Instant> = None;
            loop {
                let ctx = app.state::<AppState>().ctx.clone();
                match privacy_desk_core::requests::erasure::complete_waiting(&ctx) {
                    Ok(done) if !done.is_empty() => {
                        tracing::info!(requests = ?done, "erasures completed after their checkpoint");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "retrying waiting erasures failed"),
                }
                if hourly.is_none_or(|t| t.elapsed() >= DAILY_CHECK_EVERY) {
                    hourly = Some(Instant::now());
                    hourly_checks(&app, &ctx, &mut purged_on);
                }
                sleep_unless_stopped(&stop, WAITING_ERASURES_EVERY);
                if stop.load(Ordering::SeqCst) {
                    return;
                }
            }
        })
        .expect("spawn the requests loop")
}

fn hourly_checks(app: &AppHandle, ctx: &Context, purged_on: &mut Option<chrono::NaiveDate>) {
    let today = chrono::Utc::now().date_naive();
    if *purged_on != Some(today) {
        match privacy_desk_core::requests::erasure::purge_expired(ctx) {
            Ok(n) => {
                *purged_on = Some(today);
                if n > 0 {
                    tracing::info!(records = n, "purged retained records past retention");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "purging expired retained records failed")
            }
        }
    }
    // One notice per request, due date and threshold (7, 2, overdue), recorded in
    // the database so a restart does not repeat it.
    match privacy_desk_core::requests::take_new_reminders(ctx) {
        Ok(list) => {
            for r in list {
                notify_reminder(app, &r);
            }
        }
        Err(e) => tracing::warn!(error = %e, "reading the request reminders failed"),
    }
}

/// Sleeps `d` in one-second steps, returning early once `stop` is set.
fn sleep_unless_stopped(stop: &AtomicBool, d: Duration) {
    let started = Instant::now();
    while started.elapsed() < d && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn notify_reminder(app: &AppHandle, r: &privacy_desk_core::requests::Reminder) {
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
