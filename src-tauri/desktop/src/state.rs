//! The window's state, shared with every command: the database, the in-process receiver and
//! tunnel, and the flags the background work and the tray read.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;
use ts_rs::TS;

use crate::destinations;
use privacy_desk_core::context::Context;
use privacy_desk_core::error::{Error, Result};
use privacy_desk_core::jobs::{Nudger, Scheduler};
use privacy_desk_core::receiver::{self, Receiver};
use privacy_desk_core::time::now_ms;

/// At most one "deliveries are failing" notification per this many milliseconds.
const NOTIFY_EVERY_MS: i64 = 15 * 60 * 1000;

/// State shared with every command.
pub struct AppState {
    pub ctx: Context,
    receiver: Mutex<ReceiverSlot>,
    tunnel: Mutex<TunnelSlot>,
    /// The background jobs (catch-up, Stripe lookups, purges, reminders…), the same as
    /// `serve`'s; `None` before the window set them up and after it exits.
    pub jobs: Mutex<Option<Scheduler>>,
    /// Set to cancel the running backfill (checked between pages; it resumes next time).
    pub backfill_cancel: AtomicBool,
    /// Set by the tray's Quit: the window closes even when receiving in the background.
    pub quitting: AtomicBool,
    last_failure_notice: AtomicI64,
    /// Dialog answers the window may write to (and Downloads).
    pub destinations: destinations::Destinations,
    /// The Health card's slow checks (they read the whole database), reused for a while.
    pub health: privacy_desk_core::health::Reuse,
}

#[derive(Default)]
struct TunnelSlot {
    running: Option<privacy_desk_core::tunnel::Running>,
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
    pub fn new(ctx: Context) -> AppState {
        AppState {
            ctx,
            receiver: Mutex::new(ReceiverSlot::default()),
            tunnel: Mutex::new(TunnelSlot::default()),
            backfill_cancel: AtomicBool::new(false),
            jobs: Mutex::new(None),
            quitting: AtomicBool::new(false),
            destinations: destinations::Destinations::default(),
            last_failure_notice: AtomicI64::new(0),
            health: Default::default(),
        }
    }

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
        let started = privacy_desk_core::tunnel::Config::new(None)
            .and_then(|cfg| privacy_desk_core::tunnel::start(&self.ctx, &cfg, gate));
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
            let _ = privacy_desk_core::tunnel::stopped(&self.ctx);
        }
    }

    /// Wakes the background jobs early (new events that need Stripe).
    pub fn jobs_nudger(&self) -> Option<Nudger> {
        self.jobs
            .lock()
            .expect("jobs slot")
            .as_ref()
            .map(Scheduler::nudger)
    }

    /// Stops the background jobs (the window exits).
    pub fn stop_jobs(&self) {
        let jobs = self.jobs.lock().expect("jobs slot").take();
        if let Some(j) = jobs {
            j.shutdown();
        }
    }

    /// Makes the running receiver re-read endpoints (after a secret changed).
    pub fn refresh_receiver(&self) {
        if let Some(r) = &self.receiver.lock().expect("receiver slot").receiver {
            r.reload_endpoints();
        }
    }
}

/// Starts the in-process receiver on the configured port (the same code as `serve`).
pub fn start_receiver(app: &AppHandle) {
    let state = app.state::<AppState>();
    let port = privacy_desk_core::domain::settings::get(&state.ctx)
        .map(|s| s.receiver_port)
        .unwrap_or(privacy_desk_core::domain::settings::DEFAULT_PORT);
    let mut cfg = receiver::Config::new(SocketAddr::from(([127, 0, 0, 1], port)));
    let emitter = app.clone();
    cfg.hooks.on_linked = Some(Arc::new(move |n| {
        crate::commands::ACTIVITY_CHANGED.emit(&emitter, &n);
    }));
    if let Some(jobs) = state.jobs_nudger() {
        jobs.nudge_from(&mut cfg.hooks);
    }
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

pub fn stop_receiver(app: &AppHandle) {
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
