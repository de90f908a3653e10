use crate::state::AppState;
use privacy_desk_core::domain::processors::{self, Processor};
use privacy_desk_core::error::Result;
use privacy_desk_core::secrets::Secret;
use privacy_desk_core::webhook::WebhookConfig;

#[tauri::command]
pub async fn processors_list(state: tauri::State<'_, AppState>) -> Result<Vec<Processor>> {
    processors::list(&state.ctx)
}

#[tauri::command]
pub async fn processor_add_stripe(
    state: tauri::State<'_, AppState>,
    name: Option<String>,
) -> Result<Processor> {
    processors::add_stripe(&state.ctx, name.as_deref(), None)
}

/// A generic webhook processor (QuickBooks, Xero, a script): the same domain function as
/// `processor add webhook`.
#[tauri::command]
pub async fn processor_add_webhook(
    state: tauri::State<'_, AppState>,
    name: String,
    config: WebhookConfig,
    signing_secret: Option<String>,
) -> Result<Processor> {
    let secret = signing_secret
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .map(Secret::new);
    let p = processors::add_webhook(&state.ctx, &name, config, secret)?;
    state.refresh_receiver();
    Ok(p)
}

#[tauri::command]
pub async fn processor_set_secret(
    state: tauri::State<'_, AppState>,
    id: i64,
    secret: String,
) -> Result<()> {
    processors::set_signing_secret(&state.ctx, id, &Secret::new(secret.trim()))?;
    state.refresh_receiver();
    Ok(())
}

#[tauri::command]
pub async fn processor_show(state: tauri::State<'_, AppState>, id: i64) -> Result<Processor> {
    processors::show(&state.ctx, id)
}

#[tauri::command]
pub fn stripe_event_types() -> Vec<&'static str> {
    privacy_desk_core::stripe::event::WEBHOOK_EVENTS.to_vec()
}
