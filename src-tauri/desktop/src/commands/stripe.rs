//! Stripe API and tunnel actions from the screens. The Stripe client blocks on the network,
//! so each call runs on a blocking thread.

use std::sync::atomic::Ordering;

use tauri::{AppHandle, Manager};

use super::{blocking, BACKFILL_PROGRESS};
use crate::state::AppState;
use privacy_desk_core::error::{Error, Result};
use privacy_desk_core::secrets::Secret;
use privacy_desk_core::stripe_sync::{
    self, BackfillReport, CatchUpStatus, Check, Counts, ErasureMethod, KeySet, Registration,
};
use privacy_desk_core::tunnel;

pub async fn set_key(app: AppHandle, id: i64, key: String) -> Result<KeySet> {
    blocking(app, move |s| {
        stripe_sync::set_key(&s.ctx, id, Secret::new(key.trim()))
    })
    .await
}

pub async fn check(app: AppHandle, id: i64) -> Result<Check> {
    blocking(app, move |s| stripe_sync::check(&s.ctx, id)).await
}

pub async fn erasure_method(app: AppHandle, id: i64) -> Result<ErasureMethod> {
    blocking(app, move |s| stripe_sync::erasure_method(&s.ctx, id)).await
}

/// `delete` or `redaction_job`; redaction jobs are refused when the account lacks them.
pub async fn set_erasure_method(app: AppHandle, id: i64, method: String) -> Result<ErasureMethod> {
    blocking(app, move |s| {
        stripe_sync::set_erasure_method(&s.ctx, id, ErasureMethod::parse(&method)?)
    })
    .await
}

pub async fn catch_up(app: AppHandle, id: i64) -> Result<Counts> {
    blocking(app, move |s| stripe_sync::catch_up(&s.ctx, id)).await
}

pub async fn last_catch_up(app: AppHandle, id: i64) -> Result<CatchUpStatus> {
    blocking(app, move |s| stripe_sync::last_catch_up(&s.ctx, id)).await
}

/// Registers (or updates) the Stripe webhook endpoint at the public URL: the given one, else
/// the running tunnel's.
pub async fn register_webhook(
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

pub async fn backfill(app: AppHandle, id: i64, resources: Vec<String>) -> Result<BackfillReport> {
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
                BACKFILL_PROGRESS.emit(&emitter, p);
            },
        )
    })
    .await
}

/// Asks the running backfill to stop after the current page; it resumes from there next time.
pub async fn backfill_cancel(app: AppHandle) -> Result<()> {
    app.state::<AppState>()
        .backfill_cancel
        .store(true, Ordering::SeqCst);
    Ok(())
}

pub async fn tunnel_set_token(app: AppHandle, token: String) -> Result<()> {
    blocking(app, move |s| {
        tunnel::set_token(&s.ctx, &Secret::new(token.trim()))
    })
    .await
}

pub async fn tunnel_start(app: AppHandle) -> Result<tunnel::Status> {
    blocking(app, |s| {
        s.start_tunnel()?;
        tunnel::status(&s.ctx)
    })
    .await
}

pub async fn tunnel_stop(app: AppHandle) -> Result<tunnel::Status> {
    blocking(app, |s| {
        s.stop_tunnel();
        tunnel::status(&s.ctx)
    })
    .await
}
