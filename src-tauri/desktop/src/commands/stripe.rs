//! Stripe API and tunnel actions from the screens. The Stripe client blocks on the network,
//! so each call runs on a blocking thread.

use std::sync::atomic::Ordering;

use tauri::{AppHandle, Emitter};

use super::blocking;
use crate::state::AppState;
use privacy_desk_core::error::{Error, Result};
use privacy_desk_core::secrets::Secret;
use privacy_desk_core::stripe_sync::{
    self, BackfillReport, CatchUpStatus, Check, Counts, ErasureMethod, KeySet, Registration,
};
use privacy_desk_core::tunnel;

/// Emitted during a backfill with a `BackfillProgress`.
pub const BACKFILL_PROGRESS: &str = "backfill-progress";

#[tauri::command]
pub async fn stripe_set_key(app: AppHandle, id: i64, key: String) -> Result<KeySet> {
    blocking(app, move |s| {
        stripe_sync::set_key(&s.ctx, id, Secret::new(key.trim()))
    })
    .await
}

#[tauri::command]
pub async fn stripe_check(app: AppHandle, id: i64) -> Result<Check> {
    blocking(app, move |s| stripe_sync::check(&s.ctx, id)).await
}

#[tauri::command]
pub async fn stripe_erasure_method(app: AppHandle, id: i64) -> Result<ErasureMethod> {
    blocking(app, move |s| stripe_sync::erasure_method(&s.ctx, id)).await
}

/// `delete` or `redaction_job`; redaction jobs are refused when the account lacks them.
#[tauri::command]
pub async fn stripe_set_erasure_method(
    app: AppHandle,
    id: i64,
    method: String,
) -> Result<ErasureMethod> {
    blocking(app, move |s| {
        stripe_sync::set_erasure_method(&s.ctx, id, ErasureMethod::parse(&method)?)
    })
    .await
}

#[tauri::command]
pub async fn stripe_catch_up(app: AppHandle, id: i64) -> Result<Counts> {
    blocking(app, move |s| stripe_sync::catch_up(&s.ctx, id)).await
}

#[tauri::command]
pub async fn stripe_last_catch_up(app: AppHandle, id: i64) -> Result<CatchUpStatus> {
    blocking(app, move |s| stripe_sync::last_catch_up(&s.ctx, id)).await
}

/// Registers (or updates) the Stripe webhook endpoint at the public URL: the given one, else
/// the running tunnel's.
#[tauri::command]
pub async fn stripe_register_webhook(
    app: AppHandle,
    id: i64,
    base_url: Option<String>,
) -> Result<Registration> {
    blocking(app, move |s| {
        let base = match base_url.filter(|u| !u.trim().is_empty()) {
            Some(u) => u,
            None => s.tunnel_url().ok_or_else(|| {
                Error::invalid("start the tunnel first, or enter the public URL of this computer")
            })?,
        };
        let r = stripe_sync::register_webhook(&s.ctx, id, &base)?;
        s.refresh_receiver();
        Ok(r)
    })
    .await
}

#[tauri::command]
pub async fn stripe_backfill(
    app: AppHandle,
    id: i64,
    resources: Vec<String>,
) -> Result<BackfillReport> {
    let emitter = app.clone();
    blocking(app, move |s| {
        s.backfill_cancel.store(false, Ordering::SeqCst);
        stripe_sync::backfill(
            &s.ctx,
            id,
            &resources,
            false,
            &s.backfill_cancel,
            &mut |p| {
                let _ = emitter.emit(BACKFILL_PROGRESS, p);
            },
        )
    })
    .await
}

/// Asks the running backfill to stop after the current page; it resumes from there next time.
#[tauri::command]
pub fn stripe_backfill_cancel(state: tauri::State<'_, AppState>) {
    state.backfill_cancel.store(true, Ordering::SeqCst);
}

#[tauri::command]
pub async fn tunnel_set_token(app: AppHandle, token: String) -> Result<()> {
    blocking(app, move |s| {
        tunnel::set_token(&s.ctx, &Secret::new(token.trim()))
    })
    .await
}

#[tauri::command]
pub async fn tunnel_start(app: AppHandle) -> Result<tunnel::Status> {
    blocking(app, |s| {
        s.start_tunnel()?;
        tunnel::status(&s.ctx)
    })
    .await
}

#[tauri::command]
pub async fn tunnel_stop(app: AppHandle) -> Result<tunnel::Status> {
    blocking(app, |s| {
        s.stop_tunnel();
        tunnel::status(&s.ctx)
    })
    .await
}
