use tauri::{AppHandle, Manager};

use crate::state::AppState;
use privacy_desk_core::domain::deliveries::{self, Delivery};
use privacy_desk_core::domain::processors::{self, Processor};
use privacy_desk_core::error::Result;
use privacy_desk_core::secrets::Secret;
use privacy_desk_core::stripe_sync::{self, Removed};
use privacy_desk_core::webhook::WebhookConfig;

pub async fn list(app: AppHandle) -> Result<Vec<Processor>> {
    processors::list(&app.state::<AppState>().ctx)
}

pub async fn add_stripe(app: AppHandle, name: Option<String>) -> Result<Processor> {
    processors::add_stripe(&app.state::<AppState>().ctx, name.as_deref(), None)
}

/// A generic webhook processor (QuickBooks, Xero, a script): the same domain function as
/// `processor add webhook`.
pub async fn add_webhook(
    app: AppHandle,
    name: String,
    config: WebhookConfig,
    signing_secret: Option<String>,
) -> Result<Processor> {
    let state = app.state::<AppState>();
    let secret = signing_secret
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .map(Secret::new);
    let p = processors::add_webhook(&state.ctx, &name, config, secret)?;
    state.refresh_receiver();
    Ok(p)
}

pub async fn set_secret(app: AppHandle, id: i64, secret: String) -> Result<()> {
    let state = app.state::<AppState>();
    processors::set_signing_secret(&state.ctx, id, &Secret::new(secret.trim()))?;
    state.refresh_receiver();
    Ok(())
}

pub async fn show(app: AppHandle, id: i64) -> Result<Processor> {
    processors::show(&app.state::<AppState>().ctx, id)
}

pub async fn stripe_event_types(_app: AppHandle) -> Result<Vec<String>> {
    Ok(privacy_desk_core::stripe::event::WEBHOOK_EVENTS
        .iter()
        .map(|t| (*t).to_owned())
        .collect())
}

pub async fn add_manual(app: AppHandle, name: String) -> Result<Processor> {
    processors::add_manual(&app.state::<AppState>().ctx, &name)
}

pub async fn rename(app: AppHandle, id: i64, name: String) -> Result<Processor> {
    processors::rename(&app.state::<AppState>().ctx, id, &name)
}

/// Removes the processor (its events stay); calls Stripe first when it has a key, so it runs
/// on a blocking thread.
pub async fn remove(app: AppHandle, id: i64) -> Result<Removed> {
    let removed = super::blocking(app.clone(), move |s| {
        stripe_sync::remove_processor(&s.ctx, id)
    })
    .await?;
    app.state::<AppState>().refresh_receiver();
    Ok(removed)
}

pub async fn list_removed(app: AppHandle) -> Result<Vec<Processor>> {
    processors::list_removed(&app.state::<AppState>().ctx)
}

/// The processor's deliveries, newest first.
pub async fn deliveries(app: AppHandle, id: i64, limit: u32) -> Result<Vec<Delivery>> {
    deliveries::list(&app.state::<AppState>().ctx.db, limit, false, Some(id))
}
