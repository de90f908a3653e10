//! The desktop app: the only place that builds `tauri::Builder` — plugins, state, the
//! in-process receiver, the tray, notifications — and lists the commands.

pub mod destinations;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Emitter, Manager, RunEvent, WindowEvent};
use tauri_plugin_notification::NotificationExt;
use ts_rs::TS;

use crate::commands;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::receiver::{self, Receiver};
use crate::time::now_ms;

/// Emitted with the number of events when new events were stored and linked.
pub const ACTIVITY_CHANGED: &str = "activity-changed";
/// At most one "deliveries are failing" notification per this many milliseconds.
const NOTIFY_EVERY_MS: i64 = 15 * 60 * 1000;

/// State shared with every command.
pub struct AppState {
    pub ctx: Context,
    receiver: Mutex<ReceiverSlot>,
    tunnel: Mutex<TunnelSlot>,
    /// Stops the background catch-up with Stripe.
    catch_up_stop: Arc<AtomicBool>,
    /// Set to cancel the running backfill (checked between pages; it resumes next time).
    pub backfill_cancel: AtomicBool,
    /// Stops the daily requests loop (retention purge, deadline reminders).
    daily_stop: Arc<AtomicBool>,
    quitting: AtomicBool,
    last_failure_notice: AtomicI64,
    /// Dialog answers the window may write to (and Downloads).
    pub destinations: destinations::Destinations,
}

#[derive(Default)]
struct TunnelSlot {
    running: Option<crate::tunnel::Running>,
    error: Option<String>,
}

#[derive(Default)]
struct ReceiverSlot {
    receiver: Option<Receiver>,
    error: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct ReceiverStatus {
    pub running: bool,
    pub address: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct TunnelStatus {
    /// `off`, `starting`, `on` or `error`.
    pub state: String,
    pub public_url: Option<String>,
    pub error: Option<String>,
}

impl TunnelStatus {
    pub fn off() -> TunnelStatus {
        TunnelStatus {
            state: "off".into(),
            public_url: None,
            error: None,
        }
    }
}

impl AppState {
    pub fn receiver_status(&self) -> ReceiverStatus {
        let slot = self.receiver.lock().expect("receiver slot");
        ReceiverStatus {
            running: slot.receiver.is_some(),
            address: slot
                .receiver
                .as_ref()
                .and_then(|r| r.local_addr())
                .map(|a| format!("http://{a}")),
            error: slot.error.clone(),
        }
    }

    pub fn tunnel_status(&self) -> TunnelStatus {
        let slot = self.tunnel.lock().expect("tunnel slot");
        match (&slot.running, &slot.error) {
            (Some(r), _) => TunnelStatus {
                state: "on".into(),
                public_url: Some(r.url.clone()),
                error: None,
            },
            (None, Some(e)) => TunnelStatus {
                state: "error".into(),
                public_url: None,
                error: Some(e.clone()),
            },
            (None, None) => TunnelStatus::off(),
        }
    }

    pub fn tunnel_url(&self) -> Option<String> {
        let slot = self.tunnel.lock().expect("tunnel slot");
        slot.running.as_ref().map(|r| r.url.clone())
    }

    /// Opens the ngrok tunnel to the in-process receiver (token from the keychain).
    pub fn start_tunnel(&self) -> Result<()> {
        let gate = self
            .receiver
            .lock()
            .expect("receiver slot")
            .receiver
            .as_ref()
            .map(|r| r.gate())
            .ok_or_else(|| Error::Unavailable("the receiver is not running".into()))?;
        let started = crate::tunnel::Config::new(None)
            .and_then(|cfg| crate::tunnel::start(&self.ctx, &cfg, gate));
        let mut slot = self.tunnel.lock().expect("tunnel slot");
        match started {
            Ok(r) => {
                *slot = TunnelSlot {
                    running: Some(r),
                    error: None,
                };
                Ok(())
            }
            Err(e) => {
                slot.error = Some(e.to_string());
                Err(e)
            }
        }
    }

    pub fn stop_tunnel(&self) {
        let running = self.tunnel.lock().expect("tunnel slot").running.take();
        if running.is_some() {
            drop(running);
            let _ = crate::tunnel::stopped(&self.ctx);
        }
    }

    /// Makes the running receiver re-read endpoints (after a secret changed).
    pub fn refresh_receiver(&self) {
        if let Some(r) = &self.receiver.lock().expect("receiver slot").receiver {
            r.reload_endpoints();
        }
    }
}

pub fn run(data_dir: &Path) -> Result<()> {
    let ctx = Context::open(data_dir)?;
    let app = tauri::Builder::default()
        // First: a second launch focuses the running window instead.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            show_main_window(app);
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(
            tauri_plugin_log::Builder::new()
                .level(log::LevelFilter::Info)
                .build(),
        )
        .manage(AppState {
            ctx,
            receiver: Mutex::new(ReceiverSlot::default()),
            tunnel: Mutex::new(TunnelSlot::default()),
            catch_up_stop: Arc::new(AtomicBool::new(false)),
            backfill_cancel: AtomicBool::new(false),
            daily_stop: Arc::new(AtomicBool::new(false)),
            quitting: AtomicBool::new(false),
            destinations: destinations::Destinations::default(),
            last_failure_notice: AtomicI64::new(0),
        })
        .setup(|app| {
            let handle = app.handle().clone();
            start_receiver(&handle);
            let state = handle.state::<AppState>();
            // Missed events (the laptop was closed): caught up now, periodically, on wake.
            drop(crate::stripe_sync::spawn_catch_up_loop(
                state.ctx.clone(),
                crate::stripe_sync::CATCH_UP_EVERY,
                state.catch_up_stop.clone(),
            ));
            // Expired retained records purged, deadline reminders raised: at start, then hourly.
            drop(spawn_daily_loop(handle.clone(), state.daily_stop.clone()));
            if let Ok(s) = crate::settings::get(&state.ctx) {
                if let Some(days) = s.retention_days {
                    if let Err(e) = crate::activity::purge_older_than(&state.ctx.db, days) {
                        tracing::warn!(error = %e, "applying the activity-log retention failed");
                    }
                }
                if s.background_receiving {
                    ensure_tray(&handle);
                }
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                let state = window.state::<AppState>();
                let background = crate::settings::get(&state.ctx)
                    .map(|s| s.background_receiving)
                    .unwrap_or(false);
                if background && !state.quitting.load(Ordering::SeqCst) {
                    // Keep receiving from the tray.
                    api.prevent_close();
                    let _ = window.hide();
                }
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::dashboard::dashboard,
            commands::dashboard::deliveries_list,
            commands::processors::processors_list,
            commands::processors::processor_add_stripe,
            commands::processors::processor_add_webhook,
            commands::processors::processor_set_secret,
            commands::processors::processor_show,
            commands::processors::stripe_event_types,
            commands::activity::activity_query,
            commands::activity::activity_detail,
            commands::activity::activity_export_csv,
            commands::files::choose_save_path,
            commands::files::choose_folder,
            commands::settings::keychain_check,
            commands::settings::keychain_remove_orphans,
            commands::subjects::subjects_search,
            commands::subjects::subject_detail,
            commands::settings::settings_get,
            commands::settings::settings_save,
            commands::ropa::ropa_report,
            commands::ropa::ropa_activity_save,
            commands::ropa::ropa_activity_delete,
            commands::ropa::ropa_processor_save,
            commands::ropa::ropa_checklist_set,
            commands::ropa::ropa_export,
            commands::ropa::processor_add_manual,
            commands::stripe::stripe_set_key,
            commands::stripe::stripe_check,
            commands::stripe::stripe_erasure_method,
            commands::stripe::stripe_set_erasure_method,
            commands::stripe::stripe_catch_up,
            commands::stripe::stripe_last_catch_up,
            commands::stripe::stripe_register_webhook,
            commands::stripe::stripe_backfill,
            commands::stripe::stripe_backfill_cancel,
            commands::stripe::tunnel_set_token,
            commands::stripe::tunnel_start,
            commands::stripe::tunnel_stop,
            commands::requests::requests_list,
            commands::requests::request_create,
            commands::requests::request_page,
            commands::requests::request_extend,
            commands::requests::request_verify_identity,
            commands::requests::request_note,
            commands::requests::request_reject,
            commands::requests::request_complete,
            commands::requests::erasure_plan,
            commands::requests::erasure_execute,
            commands::requests::erasure_receipt,
            commands::requests::access_package,
            commands::requests::audit_list,
            commands::requests::audit_verify,
            commands::requests::financial_retention_get,
            commands::requests::financial_retention_set,
        ])
        .build(tauri::generate_context!())
        .map_err(|e| Error::Io(format!("the window could not start: {e}")))?;
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            let state = handle.state::<AppState>();
            state.catch_up_stop.store(true, Ordering::SeqCst);
            state.daily_stop.store(true, Ordering::SeqCst);
            state.stop_tunnel();
            stop_receiver(handle);
            handle.state::<AppState>().ctx.db.shutdown();
        }
    });
    Ok(())
}

/// Starts the in-process receiver on the configured port (the same code as `serve`).
pub fn start_receiver(app: &AppHandle) {
    let state = app.state::<AppState>();
    let port = crate::settings::get(&state.ctx)
        .map(|s| s.receiver_port)
        .unwrap_or(crate::settings::DEFAULT_PORT);
    let mut cfg = receiver::Config::new(SocketAddr::from(([127, 0, 0, 1], port)));
    let emitter = app.clone();
    cfg.hooks.on_linked = Some(Arc::new(move |n| {
        let _ = emitter.emit(ACTIVITY_CHANGED, n);
    }));
    let notifier = app.clone();
    cfg.hooks.on_rejected = Some(Arc::new(move |a| {
        // Rejections on a real endpoint (bad signature, stale, bad payload) mean Stripe's
        // deliveries are failing; scanners hitting random paths do not.
        if a.processor_id.is_some() {
            notify_failing(&notifier);
        }
    }));
    let started = Receiver::start(&state.ctx, cfg);
    let mut slot = state.receiver.lock().expect("receiver slot");
    match started {
        Ok(r) => {
            *slot = ReceiverSlot {
                receiver: Some(r),
                error: None,
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "the receiver did not start");
            *slot = ReceiverSlot {
                receiver: None,
                error: Some(e.to_string()),
            }
        }
    }
}

fn stop_receiver(app: &AppHandle) {
    let taken = app
        .state::<AppState>()
        .receiver
        .lock()
        .expect("receiver slot")
        .receiver
        .take();
    if let Some(r) = taken {
        r.shutdown();
    }
}

/// Restarts the receiver (the port changed). A running tunnel hands its connections to the
/// receiver in-process, so it is reopened on the new one.
pub fn restart_receiver(app: &AppHandle) {
    let state = app.state::<AppState>();
    let tunnel_was_on = state.tunnel_url().is_some();
    if tunnel_was_on {
        state.stop_tunnel();
    }
    stop_receiver(app);
    start_receiver(app);
    if tunnel_was_on {
        if let Err(e) = state.start_tunnel() {
            tracing::warn!(error = %e, "the tunnel did not reopen after the receiver restarted");
        }
    }
}

fn notify_failing(app: &AppHandle) {
    let state = app.state::<AppState>();
    let now = now_ms();
    let last = state.last_failure_notice.load(Ordering::SeqCst);
    if now - last < NOTIFY_EVERY_MS
        || state
            .last_failure_notice
            .compare_exchange(last, now, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
    {
        return;
    }
    let _ = app
        .notification()
        .builder()
        .title("Privacy Desk: webhook deliveries are failing")
        .body("Requests to your webhook endpoint are being refused. Open Deliveries for the reason and the fix.")
        .show();
}

/// How often the daily loop looks at the requests.
const DAILY_CHECK_EVERY: Duration = Duration::from_secs(60 * 60);

/// How often the loop retries erasures waiting for their WAL checkpoint.
const WAITING_ERASURES_EVERY: Duration = Duration::from_secs(60);

/// Completes erasures waiting for their WAL checkpoint (every minute), purges retained
/// financial records whose retention ended (once a day) and raises the deadline reminders
/// (checked every hour; each reminder shown once).
fn spawn_daily_loop(app: AppHandle, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("requests-daily".into())
        .spawn(move || {
            let mut purged_on: Option<chrono::NaiveDate> = None;
            let mut hourly: Option<Instant> = None;
            loop {
                let ctx = app.state::<AppState>().ctx.clone();
                match crate::requests::erasure::complete_waiting(&ctx) {
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
        match crate::requests::erasure::purge_expired(ctx) {
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
    match crate::requests::take_new_reminders(ctx) {
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

fn notify_reminder(app: &AppHandle, r: &crate::requests::Reminder) {
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

fn show_main_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// The tray icon that keeps the receiver reachable while the window is closed.
pub fn ensure_tray(app: &AppHandle) {
    if app.tray_by_id("main").is_some() {
        return;
    }
    let built = (|| -> tauri::Result<()> {
        let open = MenuItem::with_id(app, "open", "Open Privacy Desk", true, None::<&str>)?;
        let quit = MenuItem::with_id(app, "quit", "Quit (stop receiving)", true, None::<&str>)?;
        let menu = Menu::with_items(app, &[&open, &quit])?;
        let mut tray = TrayIconBuilder::with_id("main")
            .tooltip("Privacy Desk — receiving webhooks")
            .menu(&menu)
            .on_menu_event(|app, e| match e.id.as_ref() {
                "open" => show_main_window(app),
                "quit" => {
                    app.state::<AppState>()
                        .quitting
                        .store(true, Ordering::SeqCst);
                    app.exit(0);
                }
                _ => {}
            });
        if let Some(icon) = app.default_window_icon() {
            tray = tray.icon(icon.clone());
        }
        tray.build(app)?;
        Ok(())
    })();
    if let Err(e) = built {
        tracing::warn!(error = %e, "the tray icon could not be created");
    }
}

#[cfg(test)]
mod tests {
    /// The window is granted only what its screens use: the app's own commands and core
    /// events. The save and folder dialogs are opened from Rust (`commands::files`), so the
    /// webview has no dialog permission; nothing opens URLs or paths.
    #[test]
    fn the_window_is_granted_only_what_it_uses() {
        let cap: serde_json::Value =
            serde_json::from_str(include_str!("../../capabilities/main.json")).unwrap();
        let granted: Vec<&str> = cap["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(granted, ["core:default"]);
    }
}
