//! Webhook registration: this processor's endpoint at Stripe, created or updated for a public
//! base URL (also a tunnel's, pushed to every registered processor), and removed.

use serde::Serialize;
use serde_json::Value;

use super::{client, stripe_processor, DEFAULT_EVENTS};
use crate::context::Context;
use crate::domain::processors;
use crate::domain::processors::ProcessorKind;
use crate::error::{Error, Result};
use crate::secrets::{Secret, SecretKind};
use crate::store::{processors as pq, settings, stripe_sync as q};
use crate::stripe::client::StripeError;
use crate::time::now_ms;

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Registration {
    pub processor_id: i64,
    /// Stripe's `we_…` id.
    pub webhook_endpoint_id: String,
    /// `created` or `updated`.
    pub action: &'static str,
    pub enabled_events: Vec<String>,
    /// Whether a new signing secret was stored (Stripe returns it only on create).
    pub signing_secret_stored: bool,
    /// A new endpoint came back without its secret: until it is pasted (`processor
    /// set-secret`, or the window's signing-secret step), every delivery is refused.
    pub needs_signing_secret: bool,
}

/// What to tell the user when [`Registration::needs_signing_secret`].
pub const SECRET_MISSING: &str = "Stripe created the webhook endpoint but did not send its \
    signing secret, so every delivery would be refused: copy it from the Stripe Dashboard \
    (Developers → Webhooks → this endpoint → Signing secret) and paste it into Privacy Desk \
    (`privacy-desk processor set-secret ID`, from stdin)";

/// The events this processor subscribes to: its config's `events`, else [`DEFAULT_EVENTS`].
pub fn selected_events(ctx: &Context, id: i64) -> Result<Vec<String>> {
    Ok(events_in_config(&stripe_processor(ctx, id)?.config))
}

/// A processor config's `events` (strings only), else [`DEFAULT_EVENTS`].
fn events_in_config(config: &str) -> Vec<String> {
    let cfg: Value = serde_json::from_str(config).unwrap_or(Value::Null);
    let listed: Vec<String> = cfg
        .get("events")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if listed.is_empty() {
        DEFAULT_EVENTS.iter().map(|s| (*s).to_owned()).collect()
    } else {
        listed
    }
}

fn check_base_url(base: &str) -> Result<String> {
    let b = base.trim().trim_end_matches('/');
    let ok = url::Url::parse(b)
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http"))
        .filter(|u| u.host().is_some() && u.query().is_none() && u.fragment().is_none())
        .is_some();
    if !ok {
        return Err(Error::invalid(
            "the public URL must be an absolute http(s) URL without a query, e.g. \
             https://example.ngrok.app",
        ));
    }
    Ok(b.to_owned())
}

/// Creates this processor's webhook endpoint at Stripe for `base_url` + its webhook path, or
/// updates the one registered before. The signing secret goes to the keychain.
pub fn register_webhook(ctx: &Context, id: i64, base_url: &str) -> Result<Registration> {
    let base = check_base_url(base_url)?;
    let client = client(ctx, id)?;
    let p = processors::show(ctx, id)?;
    let path = p
        .webhook_path
        .clone()
        .ok_or_else(|| Error::invalid(format!("processor {id} has no webhook path to register")))?;
    let url = format!("{base}{path}");
    let events = selected_events(ctx, id)?;
    let mut form: Vec<(String, String)> = vec![("url".into(), url)];
    for e in &events {
        form.push(("enabled_events[]".into(), e.clone()));
    }
    let existing = ctx.db.read(|c| q::webhook_endpoint(c, id))?;
    let now = now_ms();

    if let Some(ep) = &existing {
        match client.post(
            &format!("/v1/webhook_endpoints/{}", ep.stripe_endpoint_id),
            &form,
        ) {
            Ok(v) => {
                let we = v
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or(&ep.stripe_endpoint_id)
                    .to_owned();
                let (b, we2, live) = (base.clone(), we.clone(), Some(client.livemode()));
                ctx.db.write(move |c| {
                    q::set_webhook_endpoint(c, id, &we2, &b, live, now)?;
                    settings::set(c, processors::PUBLIC_BASE_URL, &b)
                })?;
                return Ok(Registration {
                    processor_id: id,
                    webhook_endpoint_id: we,
                    action: "updated",
                    enabled_events: events,
                    signing_secret_stored: false,
                    needs_signing_secret: false,
                });
            }
            // Deleted at Stripe: create a new one below.
            Err(StripeError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }

    let mut create = form.clone();
    create.push((
        "api_version".into(),
        crate::stripe::client::API_VERSION.into(),
    ));
    create.push((
        "description".into(),
        format!("Privacy Desk (processor {id})"),
    ));
    create.push(("metadata[privacy_desk_processor]".into(), id.to_string()));
    // The same key for the same processor and URL: a create whose answer was lost (crash,
    // timeout) is replayed by Stripe instead of making a second endpoint.
    let idem = format!(
        "privacy-desk-register-{}-{}",
        p.endpoint_id.as_deref().unwrap_or("none"),
        &hex::encode(sha2::Digest::finalize(sha2::Digest::chain_update(
            <sha2::Sha256 as sha2::Digest>::new(),
            base.as_bytes()
        )))[..16]
    );
    let v = if existing.is_some() {
        client.post("/v1/webhook_endpoints", &create)
    } else {
        client.post_idempotent("/v1/webhook_endpoints", &create, &idem)
    }
    .map_err(Error::from)?;
    let we = v
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| s.starts_with("we_"))
        .ok_or_else(|| Error::Unavailable("Stripe's answer has no webhook endpoint id".into()))?
        .to_owned();
    let secret = v
        .get("secret")
        .and_then(Value::as_str)
        .filter(|s| s.starts_with("whsec_"))
        .map(Secret::new);
    let stored = match &secret {
        Some(s) => {
            ctx.keychain.set(id, SecretKind::SigningSecret, s)?;
            true
        }
        None => false,
    };
    let (b, we2, live) = (base.clone(), we.clone(), Some(client.livemode()));
    ctx.db.write(move |c| {
        q::set_webhook_endpoint(c, id, &we2, &b, live, now)?;
        settings::set(c, processors::PUBLIC_BASE_URL, &b)
    })?;
    Ok(Registration {
        processor_id: id,
        webhook_endpoint_id: we,
        action: "created",
        enabled_events: events,
        signing_secret_stored: stored,
        needs_signing_secret: !stored,
    })
}

/// Deletes the processor's endpoint at Stripe (when the processor is removed). Returns
/// whether one was registered.
pub fn unregister_webhook(ctx: &Context, id: i64) -> Result<bool> {
    let Some(ep) = ctx.db.read(|c| q::webhook_endpoint(c, id))? else {
        return Ok(false);
    };
    match client(ctx, id)?.delete(&format!("/v1/webhook_endpoints/{}", ep.stripe_endpoint_id)) {
        Ok(_) | Err(StripeError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    ctx.db.write(move |c| q::delete_webhook_endpoint(c, id))?;
    Ok(true)
}

/// A processor removed ([`remove_processor`]).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Removed {
    pub processor: processors::Processor,
    /// What became of its webhook endpoint at Stripe, in a sentence; `null` when none was
    /// registered from Privacy Desk.
    pub stripe_webhook: Option<String>,
}

/// Removes a processor ([`processors::remove`]: soft, its events kept), after deleting its
/// webhook endpoint at Stripe while its API key still exists (best effort: the answer says
/// when the officer must delete it in the Stripe Dashboard instead).
pub fn remove_processor(ctx: &Context, id: i64) -> Result<Removed> {
    let p = processors::show(ctx, id)?;
    let registered = p.kind == ProcessorKind::Stripe
        && p.removed_at.is_none()
        && ctx.db.read(|c| q::webhook_endpoint(c, id))?.is_some();
    let stripe_webhook = registered.then(|| match unregister_webhook(ctx, id) {
        Ok(_) => "Its webhook endpoint at Stripe was deleted.".to_owned(),
        Err(e) => format!(
            "Privacy Desk could not delete its webhook endpoint at Stripe ({e}): delete it in \
             the Stripe Dashboard (Developers → Webhooks), or Stripe keeps sending events that \
             are refused."
        ),
    });
    let processor = processors::remove(ctx, id)?;
    Ok(Removed {
        processor,
        stripe_webhook,
    })
}

/// Pushes a new public base URL (a tunnel's) to every Stripe processor registered before.
/// Returns the processors updated; failures are logged and skipped.
pub fn update_registered_urls(ctx: &Context, base_url: &str) -> Result<Vec<i64>> {
    let mut done = Vec::new();
    for p in ctx.db.read(pq::list)? {
        if p.kind != ProcessorKind::Stripe
            || ctx.db.read(|c| q::webhook_endpoint(c, p.id))?.is_none()
        {
            continue;
        }
        match register_webhook(ctx, p.id, base_url) {
            Ok(_) => done.push(p.id),
            Err(e) => {
                tracing::warn!(processor = p.id, error = %e, "updating the webhook URL failed")
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_lists_its_events_or_gets_the_defaults() {
        let defaults: Vec<String> = DEFAULT_EVENTS.iter().map(|s| s.to_string()).collect();
        assert!(
            DEFAULT_EVENTS.len() <= 20,
            "one Events API call takes 20 types"
        );
        for cfg in [
            "{}",
            "",
            "not json",
            "[]",
            r#"{"events": []}"#,
            r#"{"events": "x"}"#,
            r#"{"events": [1, null]}"#,
        ] {
            assert_eq!(events_in_config(cfg), defaults, "{cfg:?}");
        }
        assert_eq!(
            events_in_config(r#"{"events": ["customer.created", 7, "charge.refunded"]}"#),
            ["customer.created", "charge.refunded"]
        );
    }

    #[test]
    fn public_base_urls_are_absolute_http_without_query_or_fragment() {
        assert_eq!(
            check_base_url(" https://example.ngrok.app/ ").unwrap(),
            "https://example.ngrok.app"
        );
        assert_eq!(
            check_base_url("http://127.0.0.1:8787/prefix//").unwrap(),
            "http://127.0.0.1:8787/prefix"
        );
        for bad in [
            "",
            "example.ngrok.app",
            "ftp://example.com",
            "https://x.app/?a=1",
            "https://x.app/#f",
            "file:///tmp",
            "https://",
        ] {
            assert!(
                matches!(check_base_url(bad), Err(Error::InvalidInput(_))),
                "{bad:?}"
            );
        }
    }
}
