//! Processors: who processes personal data for the business (Stripe, other systems through
//! webhooks, or manual entries for the RoPA), and how each one's webhooks reach us.

use serde::Serialize;
use sha2::{Digest, Sha256};
use ts_rs::TS;

use crate::audit;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::secrets::{Secret, SecretKind};
pub use crate::store::processors::ProcessorKind;
use crate::store::{processors as q, settings};
use crate::time::{now_ms, to_rfc3339};
use crate::webhook::{self, WebhookConfig};

/// Settings key of the public base URL (a tunnel's or a reverse proxy's).
pub const PUBLIC_BASE_URL: &str = "public_base_url";

#[derive(Debug, Clone, Serialize, TS)]
pub struct Processor {
    pub id: i64,
    pub name: String,
    pub kind: ProcessorKind,
    pub endpoint_id: Option<String>,
    pub webhook_path: Option<String>,
    pub webhook_url: Option<String>,
    pub created_at: String,
    /// `awaiting_first_event` until a verified event arrives, then `interconnected`;
    /// `removed` once removed.
    #[ts(type = "\"awaiting_first_event\" | \"interconnected\" | \"removed\"")]
    pub status: &'static str,
    pub last_event_at: Option<String>,
    /// When it was removed: its events stay in the log, its URL is refused.
    pub removed_at: Option<String>,
    /// A Stripe processor's restricted API key is in the keychain.
    pub api_key_stored: bool,
}

/// Adds a Stripe processor with a fresh endpoint id and token. The signing secret can be
/// given now or later with [`set_signing_secret`].
pub fn add_stripe(
    ctx: &Context,
    name: Option<&str>,
    signing_secret: Option<Secret>,
) -> Result<Processor> {
    if let Some(s) = &signing_secret {
        check_stripe_secret(s)?;
    }
    add_endpoint(
        ctx,
        name.unwrap_or("Stripe"),
        ProcessorKind::Stripe,
        "{}",
        signing_secret,
    )
}

/// Adds a generic webhook processor (`crate::webhook`) with a fresh endpoint id and token.
pub fn add_webhook(
    ctx: &Context,
    name: &str,
    config: WebhookConfig,
    signing_secret: Option<Secret>,
) -> Result<Processor> {
    config.check()?;
    if let Some(s) = &signing_secret {
        webhook::check_secret(s)?;
    }
    let json = serde_json::to_string(&config).expect("the config serialises");
    add_endpoint(ctx, name, ProcessorKind::Webhook, &json, signing_secret)
}

/// Adds a processor that receives webhooks (`stripe` or `webhook`): a fresh endpoint id and
/// token, its configuration, and the signing secret if given.
fn add_endpoint(
    ctx: &Context,
    name: &str,
    kind: ProcessorKind,
    config: &str,
    signing_secret: Option<Secret>,
) -> Result<Processor> {
    let name = clean_name(name)?;
    let config = config.to_owned();
    let endpoint_id = hex::encode(random_bytes::<12>());
    let token = Secret::new(base64_url(&random_bytes::<32>()));
    let token_hash = token_hash(&token);
    let id = ctx.db.write(move |c| {
        q::insert(
            c,
            &q::NewProcessor {
                name: &name,
                kind,
                endpoint_id: Some(&endpoint_id),
                token_hash: Some(&token_hash),
                config: &config,
                created_at: now_ms(),
            },
        )
    })?;
    let stored = ctx
        .keychain
        .set(id, SecretKind::EndpointToken, &token)
        .and_then(|()| match &signing_secret {
            Some(s) => ctx.keychain.set(id, SecretKind::SigningSecret, s),
            None => Ok(()),
        });
    if let Err(e) = stored {
        // Without its token the endpoint is unusable: do not leave half a processor behind.
        let _ = ctx.keychain.delete(id, SecretKind::EndpointToken);
        ctx.db.write(move |c| q::delete(c, id))?;
        return Err(e);
    }
    show(ctx, id)
}

/// A processor with no integration, recorded for the RoPA.
pub fn add_manual(ctx: &Context, name: &str) -> Result<Processor> {
    let name = clean_name(name)?;
    let id = ctx.db.write(move |c| {
        q::insert(
            c,
            &q::NewProcessor {
                name: &name,
                kind: ProcessorKind::Manual,
                endpoint_id: None,
                token_hash: None,
                config: "{}",
                created_at: now_ms(),
            },
        )
    })?;
    show(ctx, id)
}

/// Replaces the signing secret of a processor.
pub fn set_signing_secret(ctx: &Context, id: i64, secret: &Secret) -> Result<()> {
    let p = active_row(ctx, id)?;
    match p.kind {
        ProcessorKind::Stripe => check_stripe_secret(secret)?,
        ProcessorKind::Webhook => webhook::check_secret(secret)?,
        _ => {
            return Err(Error::invalid(format!(
                "processor {id} is a manual processor: it receives no webhooks"
            )))
        }
    }
    ctx.keychain.set(id, SecretKind::SigningSecret, secret)
}

/// Renames a processor; the audit trail records the change (ids only, the names are the
/// business's own, not personal data) in the same transaction.
pub fn rename(ctx: &Context, id: i64, name: &str) -> Result<Processor> {
    let name = clean_name(name)?;
    let old = active_row(ctx, id)?;
    if old.name == name {
        return show(ctx, id);
    }
    let key = ctx.keychain.hash_key()?;
    ctx.db.write(move |c| {
        q::set_name(c, id, &name)?;
        let e = audit::Entry::new(audit::USER, "processor.renamed").details(serde_json::json!({
            "processor_id": id,
            "from": old.name,
            "to": name,
        }));
        audit::append(c, &key, &e, now_ms()).map(|_| ())
    })?;
    show(ctx, id)
}

/// Removes a processor, softly: its events stay in the Processing Activity Log (and the RoPA
/// keeps its name in their history), its webhook URL is refused from now on (the token hash is
/// cleared), its keychain entries are deleted, and the audit trail records it in the same
/// transaction. Unregistering a Stripe webhook is the caller's (`stripe_sync::remove_processor`).
pub fn remove(ctx: &Context, id: i64) -> Result<Processor> {
    let p = active_row(ctx, id)?;
    let key = ctx.keychain.hash_key()?;
    ctx.db.write(move |c| {
        let events = q::event_count(c, id)?;
        if !q::mark_removed(c, id, now_ms())? {
            return Err(Error::invalid(format!("processor {id} is already removed")));
        }
        let e = audit::Entry::new(audit::USER, "processor.removed").details(serde_json::json!({
            "processor_id": id,
            "name": p.name,
            "kind": p.kind,
            "events_kept": events,
        }));
        audit::append(c, &key, &e, now_ms()).map(|_| ())
    })?;
    for kind in [
        SecretKind::EndpointToken,
        SecretKind::SigningSecret,
        SecretKind::ApiKey,
    ] {
        // What cannot be deleted now shows in the keychain check as an orphan to remove.
        if let Err(e) = ctx.keychain.delete(id, kind) {
            tracing::warn!(processor = id, error = %e, "a removed processor's keychain entry stayed");
        }
    }
    show(ctx, id)
}

/// The removed processors, newest removal first.
pub fn list_removed(ctx: &Context) -> Result<Vec<Processor>> {
    let rows = ctx.db.read(q::list_removed)?;
    let base = base_url(ctx)?;
    rows.into_iter().map(|r| view(ctx, r, &base)).collect()
}

/// The active processors.
pub fn list(ctx: &Context) -> Result<Vec<Processor>> {
    let rows = ctx.db.read(q::list)?;
    let base = base_url(ctx)?;
    rows.into_iter().map(|r| view(ctx, r, &base)).collect()
}

pub fn show(ctx: &Context, id: i64) -> Result<Processor> {
    let row = get_row(ctx, id)?;
    view(ctx, row, &base_url(ctx)?)
}

/// The processor, refused when it was removed.
fn active_row(ctx: &Context, id: i64) -> Result<q::ProcessorRow> {
    let row = get_row(ctx, id)?;
    if row.removed_at.is_some() {
        return Err(Error::invalid(format!(
            "processor {id} ({}) was removed: add it again to receive its events",
            row.name
        )));
    }
    Ok(row)
}

fn get_row(ctx: &Context, id: i64) -> Result<q::ProcessorRow> {
    ctx.db.read(|c| q::get(c, id))?.ok_or_else(|| {
        Error::not_found(format!(
            "no processor with id {id}: `privacy-desk processor list` shows them"
        ))
    })
}

/// The public base URL Stripe posts to (tunnel or configured), else the local receiver on the
/// port from the settings (`http://127.0.0.1:8787` unless the port was changed).
pub fn base_url(ctx: &Context) -> Result<String> {
    if let Some(public) = ctx.db.read(|c| settings::get(c, PUBLIC_BASE_URL))? {
        return Ok(public);
    }
    let port = crate::domain::settings::get(ctx)?.receiver_port;
    Ok(format!("http://127.0.0.1:{port}"))
}

fn view(ctx: &Context, r: q::ProcessorRow, base: &str) -> Result<Processor> {
    let webhook_path = match &r.endpoint_id {
        Some(_) if r.removed_at.is_some() => None,
        Some(eid) => {
            let token = ctx
                .keychain
                .get(r.id, SecretKind::EndpointToken)?
                .ok_or_else(|| {
                    Error::Keychain(format!(
                        "the webhook token of processor {} is missing from the OS keychain",
                        r.id
                    ))
                })?;
            Some(format!(
                "/webhooks/{}/{eid}?token={}",
                r.kind.route_segment(),
                token.expose()
            ))
        }
        None => None,
    };
    Ok(Processor {
        webhook_url: webhook_path
            .as_ref()
            .map(|p| format!("{}{p}", base.trim_end_matches('/'))),
        webhook_path,
        id: r.id,
        name: r.name,
        kind: r.kind,
        endpoint_id: r.endpoint_id,
        created_at: to_rfc3339(r.created_at),
        status: if r.removed_at.is_some() {
            "removed"
        } else if r.last_event_at.is_some() {
            "interconnected"
        } else {
            "awaiting_first_event"
        },
        last_event_at: r.last_event_at.map(to_rfc3339),
        api_key_stored: r.kind == ProcessorKind::Stripe
            && r.removed_at.is_none()
            && ctx.keychain.get(r.id, SecretKind::ApiKey)?.is_some(),
        removed_at: r.removed_at.map(to_rfc3339),
    })
}

/// What the receiver needs to authenticate and verify one endpoint's requests.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub processor_id: i64,
    pub kind: ProcessorKind,
    /// `stripe`, or a webhook processor's name: the activity log's source.
    pub source: String,
    pub token_hash: [u8; 32],
    pub signing_secrets: Vec<Secret>,
    /// A webhook processor's signature and JSON pointer configuration.
    pub webhook: Option<crate::webhook::WebhookConfig>,
    /// The data directory's hash key, for the replay hashes of the events received.
    pub replay_key: crate::secrets::HashKey,
}

/// The endpoint with this public id, with its secrets from the keychain.
pub fn endpoint(ctx: &Context, endpoint_id: &str) -> Result<Option<Endpoint>> {
    let row = ctx.db.read(|c| q::by_endpoint(c, endpoint_id))?;
    let Some(r) = row else { return Ok(None) };
    let Some(hash) = r
        .token_hash
        .as_deref()
        .and_then(|h| <[u8; 32]>::try_from(h).ok())
    else {
        return Ok(None);
    };
    let secrets = ctx
        .keychain
        .get(r.id, SecretKind::SigningSecret)?
        .into_iter()
        .collect();
    let replay_key = ctx.keychain.hash_key()?;
    Ok(Some(Endpoint {
        processor_id: r.id,
        source: if r.kind == ProcessorKind::Stripe {
            "stripe".to_owned()
        } else {
            r.name.clone()
        },
        webhook: (r.kind == ProcessorKind::Webhook)
            .then(|| serde_json::from_str(&r.config).ok())
            .flatten(),
        kind: r.kind,
        token_hash: hash,
        signing_secrets: secrets,
        replay_key,
    }))
}

/// A keychain entry an active processor's database recorded writing, which the keychain does
/// not hold (a restore without the credentials, a keychain reset): what to re-enter, where.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct MissingSecret {
    pub processor_id: i64,
    pub processor_name: String,
    /// What is missing, in words: "webhook signing secret".
    pub secret: String,
    /// Whether something stops until it is entered again (a signing secret: the processor's
    /// webhooks are refused; an API key: the catch-up and erasures at Stripe). A URL token
    /// only cannot be shown again.
    pub stops_working: bool,
    pub fix: String,
}

/// Every [`MissingSecret`] of the active processors.
pub fn missing_secrets(ctx: &Context) -> Result<Vec<MissingSecret>> {
    let mut out = Vec::new();
    for p in ctx.db.read(q::list)? {
        for kind in [
            SecretKind::SigningSecret,
            SecretKind::EndpointToken,
            SecretKind::ApiKey,
        ] {
            if !ctx.keychain.is_recorded(p.id, kind)? || ctx.keychain.get(p.id, kind)?.is_some() {
                continue;
            }
            let fix = match kind {
                SecretKind::SigningSecret => format!(
                    "enter it again on Processors → {} → Signing secret; until then its \
                     webhooks are refused",
                    p.name
                ),
                SecretKind::ApiKey => format!(
                    "enter it again on Processors → {} → Restricted API key",
                    p.name
                ),
                _ => "the webhook URL still works, but it cannot be shown again: to see a \
                      URL, add the processor again and register the new URL"
                    .to_owned(),
            };
            out.push(MissingSecret {
                processor_id: p.id,
                processor_name: p.name.clone(),
                secret: kind.title().to_owned(),
                stops_working: kind != SecretKind::EndpointToken,
                fix,
            });
        }
    }
    Ok(out)
}

pub fn token_hash(token: &Secret) -> [u8; 32] {
    Sha256::digest(token.expose().as_bytes()).into()
}

fn check_stripe_secret(s: &Secret) -> Result<()> {
    let v = s.expose();
    if !v.starts_with("whsec_") || v.len() < 10 || v.chars().any(char::is_whitespace) {
        return Err(Error::invalid(
            "that is not a Stripe signing secret: copy the `whsec_…` value from the webhook \
             endpoint's page in the Stripe Dashboard",
        ));
    }
    Ok(())
}

fn clean_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.len() > 100 || n.chars().any(char::is_control) {
        return Err(Error::invalid(
            "a processor name must be 1 to 100 printable characters",
        ));
    }
    Ok(n.to_owned())
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the OS random number generator is available");
    b
}

fn base64_url(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::events;

    fn one_event(ctx: &Context, processor_id: i64) {
        ctx.db
            .write(move |c| {
                events::insert(
                    c,
                    &events::NewEvent {
                        processor_id,
                        source: "stripe".into(),
                        event_id: "evt_1".into(),
                        event_type: "charge.succeeded".into(),
                        occurred_at: 1_000,
                        received_at: 2_000,
                        livemode: Some(false),
                        status: events::status::NO_SUBJECT,
                        object_id: Some("ch_1".into()),
                        customer_ref: None,
                        observed: String::new(),
                        data: "{}".into(),
                        replay_hash: None,
                    },
                )
            })
            .unwrap();
    }

    #[test]
    fn removing_is_soft_refuses_the_url_and_forgets_the_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::open_in_memory_keychain(dir.path()).unwrap();
        let secret = Secret::new("whsec_test_removed_0123456789");
        let p = add_stripe(&ctx, Some("Stripe (shop)"), Some(secret)).unwrap();
        let kept = add_manual(&ctx, "Bookkeeper").unwrap();
        ctx.keychain
            .set(p.id, SecretKind::ApiKey, &Secret::new("rk_test_removed"))
            .unwrap();
        one_event(&ctx, p.id);
        let eid = p.endpoint_id.clone().unwrap();
        assert!(endpoint(&ctx, &eid).unwrap().is_some());

        let removed = remove(&ctx, p.id).unwrap();
        assert_eq!(removed.status, "removed");
        assert!(removed.removed_at.is_some());
        assert_eq!(
            removed.name, "Stripe (shop)",
            "the name stays for the history"
        );
        assert_eq!(
            removed.webhook_url, None,
            "a removed processor has no URL to give"
        );
        // The receiver finds no endpoint for its URL any more.
        assert!(endpoint(&ctx, &eid).unwrap().is_none());
        // Its secrets are gone from the keychain; its events stay.
        for kind in [
            SecretKind::EndpointToken,
            SecretKind::SigningSecret,
            SecretKind::ApiKey,
        ] {
            assert!(ctx.keychain.get(p.id, kind).unwrap().is_none(), "{kind:?}");
        }
        assert_eq!(ctx.db.read(|c| q::event_count(c, p.id)).unwrap(), 1);
        // Listed apart from the active ones.
        let active: Vec<i64> = list(&ctx).unwrap().iter().map(|p| p.id).collect();
        assert_eq!(active, vec![kept.id]);
        let gone: Vec<i64> = list_removed(&ctx).unwrap().iter().map(|p| p.id).collect();
        assert_eq!(gone, vec![p.id]);
        // Recorded in the audit trail, with how many events were kept.
        let entries = audit::list(&ctx, None).unwrap();
        let e = entries
            .iter()
            .find(|e| e.action == "processor.removed")
            .expect("processor.removed in the audit trail");
        assert_eq!(e.details["processor_id"], p.id);
        assert_eq!(e.details["events_kept"], 1);
        assert!(audit::verify(&ctx).unwrap().ok);

        // Removing again, renaming or re-keying a removed processor: clear errors.
        let again = remove(&ctx, p.id).unwrap_err().to_string();
        assert!(again.contains("was removed"), "{again}");
        assert!(rename(&ctx, p.id, "Other").is_err());
        assert!(set_signing_secret(&ctx, p.id, &Secret::new("whsec_another_secret_1")).is_err());
        assert_eq!(
            audit::list(&ctx, None)
                .unwrap()
                .iter()
                .filter(|e| e.action == "processor.removed")
                .count(),
            1
        );
    }
}
