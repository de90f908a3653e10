//! The Stripe API workflows, shared by the CLI and the desktop app: the restricted key and its
//! permission check, webhook registration, catch-up after downtime, backfill, customer lookup
//! and thin-event fetch. Network calls go through [`crate::stripe::client`]; events go through
//! the same ingestion path as webhooks ([`ingest::row`] + [`ingest::StoreJob`], dedupe on the
//! event id); SQL is in [`crate::store::stripe_sync`].
//!
//! Objects fetched from the API (backfill, customer lookup) are stored as synthetic events
//! `import_<object id>` of type `<object>.imported`, so they are minimised, deduplicated and
//! linked exactly like webhook events.
//!
//! All functions here block on the network: call them from `spawn_blocking` in async code.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde_json::{json, Value};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::ingest::{self, link, Outcome};
use crate::processors;
use crate::secrets::{HashKey, Secret, SecretKind};
use crate::store::{processors as pq, settings, stripe_sync as q, Db};
use crate::stripe::client::{key_info, Client, KeyKind, StripeError};
use crate::stripe::event;
use crate::time::now_ms;

/// Catch-up starts this long before the newest stored event (clock skew, late commits).
pub const CATCHUP_MARGIN_MS: i64 = 60 * 60 * 1000;
/// Stripe keeps events for 30 days.
pub const MAX_LOOKBACK_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// The events a Stripe processor subscribes to unless its config lists `events` (Stripe allows
/// at most 20 `types[]` in one Events API call: keep it at 20 or fewer).
pub const DEFAULT_EVENTS: &[&str] = &[
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "charge.succeeded",
    "charge.failed",
    "charge.refunded",
    "charge.dispute.created",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_failed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "checkout.session.completed",
    "refund.created",
    "setup_intent.succeeded",
    "payment_method.attached",
];

fn stripe_processor(ctx: &Context, id: i64) -> Result<pq::ProcessorRow> {
    let row = ctx.db.read(|c| pq::get(c, id))?.ok_or_else(|| {
        Error::not_found(format!(
            "no processor with id {id}: `privacy-desk processor list` shows them"
        ))
    })?;
    if row.kind != "stripe" {
        return Err(Error::invalid(format!(
            "processor {id} is not a Stripe processor"
        )));
    }
    Ok(row)
}

/// The API client for a processor, with its key from the keychain.
pub fn client(ctx: &Context, id: i64) -> Result<Client> {
    stripe_processor(ctx, id)?;
    let key = ctx.keychain.get(id, SecretKind::ApiKey)?.ok_or_else(|| {
        Error::not_found(format!(
            "processor {id} has no Stripe API key: set one with \
             `privacy-desk stripe set-key {id}` (a restricted key, `rk_…`, on stdin)"
        ))
    })?;
    Client::new(key)
}

// ---------------------------------------------------------------------------------------------
// Key and permissions

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct KeySet {
    pub processor_id: i64,
    pub key_kind: &'static str,
    pub livemode: bool,
    pub stored: bool,
    /// Set for a full secret key: it works, but grants far more than Privacy Desk needs.
    pub warning: Option<String>,
}

pub const SECRET_KEY_WARNING: &str = "this is a full secret key (`sk_…`): it can do anything on \
     the Stripe account. Privacy Desk accepted it, but create a restricted key (`rk_…`) with \
     only the permissions `privacy-desk stripe check` lists, and set that instead";

/// Validates `key` with a read call and stores it in the keychain.
pub fn set_key(ctx: &Context, id: i64, key: Secret) -> Result<KeySet> {
    stripe_processor(ctx, id)?;
    let (kind, livemode) = key_info(&key)?;
    let client = Client::new(key.clone())?;
    match client.get("/v1/customers", &[("limit".into(), "1".into())]) {
        // A 403 proves the key is genuine; `stripe check` reports the missing permissions.
        Ok(_) | Err(StripeError::Permission { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    ctx.keychain.set(id, SecretKind::ApiKey, &key)?;
    Ok(KeySet {
        processor_id: id,
        key_kind: kind.as_str(),
        livemode,
        stored: true,
        warning: (kind == KeyKind::Secret).then(|| SECRET_KEY_WARNING.to_owned()),
    })
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct Permission {
    pub name: &'static str,
    pub granted: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct Workflow {
    pub name: &'static str,
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Check {
    pub key_kind: &'static str,
    pub livemode: bool,
    pub permissions: Vec<Permission>,
    pub workflows: Vec<Workflow>,
    /// Stripe redaction jobs (a preview) can be used for erasures: see [`ErasureMethod`].
    pub redaction_jobs_available: bool,
}

/// (permission, probe path, mutating). Write probes update an object that does not exist:
/// a 404 means the permission is there, a 403 that it is not; nothing is changed.
const PROBES: &[(&str, &str, bool)] = &[
    ("customers_read", "/v1/customers", false),
    (
        "customers_write",
        "/v1/customers/cus_privacydeskprobe",
        true,
    ),
    ("charges_read", "/v1/charges", false),
    ("payment_intents_read", "/v1/payment_intents", false),
    ("invoices_read", "/v1/invoices", false),
    ("subscriptions_read", "/v1/subscriptions", false),
    ("events_read", "/v1/events", false),
    (
        "webhook_endpoints_write",
        "/v1/webhook_endpoints/we_privacydeskprobe",
        true,
    ),
];

/// (workflow, permissions it needs).
const WORKFLOWS: &[(&str, &[&str])] = &[
    ("webhook_registration", &["webhook_endpoints_write"]),
    ("catch_up", &["events_read"]),
    ("thin_events", &["events_read"]),
    ("customer_lookup", &["customers_read"]),
    ("backfill_customers", &["customers_read"]),
    (
        "backfill_payments",
        &[
            "charges_read",
            "payment_intents_read",
            "invoices_read",
            "subscriptions_read",
        ],
    ),
    ("erasure_at_stripe", &["customers_write"]),
];

/// Probes each permission the workflows need.
pub fn check(ctx: &Context, id: i64) -> Result<Check> {
    check_with(
        &client(ctx, id)?,
        &ctx.keychain.get(id, SecretKind::ApiKey)?,
    )
}

fn check_with(client: &Client, key: &Option<Secret>) -> Result<Check> {
    let (kind, livemode) = match key {
        Some(k) => key_info(k)?,
        None => (KeyKind::Restricted, client.livemode()),
    };
    let mut permissions = Vec::new();
    for (name, path, mutating) in PROBES {
        let r = if *mutating {
            client.post(path, &[])
        } else {
            client.get(path, &[("limit".into(), "1".into())])
        };
        let granted = match r {
            Ok(_) | Err(StripeError::NotFound { .. }) | Err(StripeError::Invalid { .. }) => true,
            Err(StripeError::Permission { .. }) => false,
            Err(e) => return Err(e.into()),
        };
        permissions.push(Permission { name, granted });
    }
    let has = |p: &str| permissions.iter().any(|x| x.name == p && x.granted);
    let workflows = WORKFLOWS
        .iter()
        .map(|(name, needs)| Workflow {
            name,
            enabled: needs.iter().all(|p| has(p)),
        })
        .collect();
    Ok(Check {
        key_kind: kind.as_str(),
        livemode,
        permissions,
        workflows,
        // A 404 (or 403) on the list: this account or key cannot use them.
        redaction_jobs_available: crate::stripe::redaction::available(client)?,
    })
}

// ---------------------------------------------------------------------------------------------
// How an erasure reaches Stripe

/// How an erasure removes a customer at Stripe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ErasureMethod {
    /// `DELETE /v1/customers/{id}` (the default; every account has it).
    Delete,
    /// A Stripe redaction job over the customer and its payments (a Stripe preview: only
    /// accounts that have it). The payment records stay at Stripe without personal data.
    RedactionJob,
}

impl ErasureMethod {
    pub fn parse(s: &str) -> Result<ErasureMethod> {
        match s.trim() {
            "delete" => Ok(ErasureMethod::Delete),
            "redaction-job" | "redaction_job" => Ok(ErasureMethod::RedactionJob),
            other => Err(Error::invalid(format!(
                "unknown erasure method {other:?}: use `delete` or `redaction-job`"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErasureMethod::Delete => "delete",
            ErasureMethod::RedactionJob => "redaction_job",
        }
    }
}

/// The processor's erasure method (config `erasure_method`, default delete).
pub fn erasure_method(ctx: &Context, id: i64) -> Result<ErasureMethod> {
    let row = stripe_processor(ctx, id)?;
    let cfg: Value = serde_json::from_str(&row.config).unwrap_or(Value::Null);
    Ok(match cfg.get("erasure_method").and_then(Value::as_str) {
        Some("redaction_job") => ErasureMethod::RedactionJob,
        _ => ErasureMethod::Delete,
    })
}

/// Sets the erasure method. Redaction jobs are refused when the processor's key shows the
/// account does not have them (Stripe answers 404 or 403 on the redaction-jobs list).
pub fn set_erasure_method(ctx: &Context, id: i64, method: ErasureMethod) -> Result<ErasureMethod> {
    let row = stripe_processor(ctx, id)?;
    if method == ErasureMethod::RedactionJob {
        let client = client(ctx, id)?;
        if !crate::stripe::redaction::available(&client)? {
            return Err(Error::Blocked(format!(
                "Stripe does not offer redaction jobs to this account or key (a Stripe preview \
                 feature): keep `delete`, or ask Stripe to enable redaction jobs and grant the \
                 key access to them (processor {id})"
            )));
        }
    }
    let mut cfg: Value = serde_json::from_str(&row.config).unwrap_or_else(|_| json!({}));
    if !cfg.is_object() {
        cfg = json!({});
    }
    cfg["erasure_method"] = json!(method.as_str());
    let text = cfg.to_string();
    let key = ctx.keychain.hash_key()?;
    let entry = crate::audit::Entry::new(crate::audit::USER, "processor.erasure_method_set")
        .details(json!({ "processor_id": id, "method": method.as_str() }));
    // The change and its audit entry in one transaction.
    ctx.db.write(move |c| {
        pq::set_config(c, id, &text)?;
        crate::audit::append(c, &key, &entry, now_ms())?;
        Ok(())
    })?;
    Ok(method)
}

// ---------------------------------------------------------------------------------------------
// Webhook registration

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
    let row = stripe_processor(ctx, id)?;
    let cfg: Value = serde_json::from_str(&row.config).unwrap_or(Value::Null);
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
    Ok(if listed.is_empty() {
        DEFAULT_EVENTS.iter().map(|s| (*s).to_owned()).collect()
    } else {
        listed
    })
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

/// Pushes a new public base URL (a tunnel's) to every Stripe processor registered before.
/// Returns the processors updated; failures are logged and skipped.
pub fn update_registered_urls(ctx: &Context, base_url: &str) -> Result<Vec<i64>> {
    let mut done = Vec::new();
    for p in ctx.db.read(pq::list)? {
        if p.kind != "stripe" || ctx.db.read(|c| q::webhook_endpoint(c, p.id))?.is_none() {
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

// ---------------------------------------------------------------------------------------------
// Storing fetched events

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct Counts {
    pub fetched: u64,
    pub new: u64,
    pub duplicates: u64,
}

/// Stores Stripe event JSON values through the ingestion path; one group commit per call.
/// `replay_key`: for Stripe's own events (catch-up), which keep their ids known after they
/// are deleted; synthetic `import_…` events (backfill, lookups) are fetches of the current
/// state the user asked for, not deliveries, and go without.
fn store_events(
    db: &Db,
    replay_key: Option<&HashKey>,
    processor_id: i64,
    events: &[Value],
    counts: &mut Counts,
) -> Result<()> {
    let now = now_ms();
    let (tx, rx) = mpsc::channel();
    let mut submitted = 0usize;
    for ev in events {
        counts.fetched += 1;
        let body = serde_json::to_vec(ev).expect("JSON serialises");
        let inc = match event::parse(&body, now) {
            Ok(i) => i,
            Err(e) => {
                let id = ev.get("id").and_then(Value::as_str).unwrap_or("?");
                tracing::warn!(event = id, error = %e, "skipping an event from the Stripe API");
                continue;
            }
        };
        let row = ingest::row(processor_id, "stripe", inc, now, replay_key);
        let tx = tx.clone();
        db.submit(ingest::StoreJob::new(row, move |r| {
            let _ = tx.send(r);
        }))?;
        submitted += 1;
    }
    drop(tx);
    for _ in 0..submitted {
        let r = rx
            .recv()
            .map_err(|_| Error::Unavailable("the database writer stopped".into()))?;
        match r? {
            Outcome::Accepted => counts.new += 1,
            Outcome::Duplicate => counts.duplicates += 1,
        }
    }
    Ok(())
}

/// Links everything pending (what the receiver's linker thread does, run inline).
pub fn link_pending(db: &Db) -> Result<()> {
    while db.write(|c| link::process_pending(c, 500))? > 0 {}
    Ok(())
}

/// A synthetic event for an API object: `import_<id>`, type `<object>.imported`.
fn import_envelope(obj: &Value) -> Option<Value> {
    let id = obj.get("id")?.as_str()?;
    let kind = obj.get("object")?.as_str()?;
    Some(json!({
        "id": format!("{}{id}", q::IMPORT_PREFIX),
        "object": "event",
        "type": format!("{kind}.imported"),
        "created": obj.get("created").cloned().unwrap_or(Value::Null),
        "livemode": obj.get("livemode").cloned().unwrap_or(Value::Null),
        "data": {"object": obj},
    }))
}

/// An id that is safe to put into a URL path: `prefix_` then letters, digits, `_`.
fn is_object_id(s: &str, prefix: &str) -> bool {
    s.starts_with(prefix)
        && s.len() <= 255
        && s.len() > prefix.len()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

// ---------------------------------------------------------------------------------------------
// Catch-up

/// Fetches the events missed since the newest stored one (minus a margin, 30 days at most)
/// and stores them; then links them and looks up customers never seen.
pub fn catch_up(ctx: &Context, id: i64) -> Result<Counts> {
    let client = client(ctx, id)?;
    let key = ctx.keychain.hash_key()?;
    let counts = catch_up_with(&ctx.db, &client, Some(&key), id, &selected_events(ctx, id)?)?;
    link_pending(&ctx.db)?;
    if let Err(e) = lookup_customers_with(&ctx.db, &client, id) {
        tracing::warn!(processor = id, error = %e, "customer lookup after catch-up failed");
    }
    Ok(counts)
}

/// The catch-up itself, without linking (the benchmark measures this).
pub fn catch_up_with(
    db: &Db,
    client: &Client,
    replay_key: Option<&HashKey>,
    id: i64,
    types: &[String],
) -> Result<Counts> {
    let now = now_ms();
    let floor = now - MAX_LOOKBACK_MS + 60_000;
    let newest = db.read(|c| q::newest_event_at(c, id))?;
    let pending = db.read(|c| q::catchup_pending_since(c, id))?;
    let mut since = newest.map(|t| t - CATCHUP_MARGIN_MS).unwrap_or(floor);
    if let Some(p) = pending {
        since = since.min(p);
    }
    let since = since.max(floor);
    db.write(move |c| q::catchup_started(c, id, since))?;

    let mut params = vec![("created[gte]".to_owned(), (since / 1000).to_string())];
    if types.len() <= 20 {
        for t in types {
            params.push(("types[]".into(), t.clone()));
        }
    }
    let mut counts = Counts::default();
    client.list_pages::<Error>("/v1/events", &params, None, |page| {
        let wanted: Vec<Value> = page
            .data
            .iter()
            .filter(|e| {
                types.len() <= 20
                    || e.get("type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| types.iter().any(|x| x == t))
            })
            .cloned()
            .collect();
        store_events(db, replay_key, id, &wanted, &mut counts)?;
        Ok(true)
    })?;
    let c3 = (counts.fetched, counts.new, counts.duplicates);
    db.write(move |c| q::catchup_finished(c, id, now_ms(), c3))?;
    Ok(counts)
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CatchUpStatus {
    pub last_run_at: Option<String>,
    pub fetched: i64,
    pub new: i64,
    pub duplicates: i64,
}

/// The last catch-up's counts, for the dashboard.
pub fn last_catch_up(ctx: &Context, id: i64) -> Result<CatchUpStatus> {
    let r = ctx.db.read(|c| q::last_catchup(c, id))?;
    Ok(match r {
        Some((at, f, n, d)) => CatchUpStatus {
            last_run_at: Some(crate::time::to_rfc3339(at)),
            fetched: f,
            new: n,
            duplicates: d,
        },
        None => CatchUpStatus {
            last_run_at: None,
            fetched: 0,
            new: 0,
            duplicates: 0,
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Backfill

/// What a backfill can import.
pub const RESOURCES: &[&str] = &[
    "customers",
    "charges",
    "payment_intents",
    "invoices",
    "subscriptions",
];

fn resource_params(resource: &str) -> Vec<(String, String)> {
    if resource == "subscriptions" {
        vec![("status".into(), "all".into())]
    } else {
        Vec::new()
    }
}

/// Parses `customers,charges,…`.
pub fn parse_resources(list: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for r in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !RESOURCES.contains(&r) {
            return Err(Error::invalid(format!(
                "unknown resource `{r}`: choose from {}",
                RESOURCES.join(", ")
            )));
        }
        if !out.iter().any(|x| x == r) {
            out.push(r.to_owned());
        }
    }
    if out.is_empty() {
        return Err(Error::invalid("name at least one resource to backfill"));
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct BackfillProgress {
    pub resource: String,
    /// Objects imported so far for this resource, across runs.
    pub imported: i64,
    pub pages: u64,
    pub done: bool,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ResourceReport {
    pub resource: String,
    pub fetched: u64,
    pub new: u64,
    pub duplicates: u64,
    /// Across every run of this backfill.
    pub imported_total: i64,
    pub done: bool,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct BackfillReport {
    pub resources: Vec<ResourceReport>,
    pub cancelled: bool,
}

/// Imports historical objects, resuming from the cursor a previous run left. A resource that
/// finished before is skipped unless `restart`. `cancel` is checked between pages.
pub fn backfill(
    ctx: &Context,
    id: i64,
    resources: &[String],
    restart: bool,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(&BackfillProgress),
) -> Result<BackfillReport> {
    let client = client(ctx, id)?;
    let db = &ctx.db;
    let mut report = BackfillReport {
        resources: Vec::new(),
        cancelled: false,
    };
    for resource in resources {
        let res = resource.clone();
        let mut state = db.read(|c| q::backfill_state(c, id, &res))?;
        if restart {
            state = q::BackfillState::default();
        }
        let mut counts = Counts::default();
        if !state.done {
            let mut pages = 0u64;
            client.list_pages::<Error>(
                &format!("/v1/{resource}"),
                &resource_params(resource),
                state.cursor.clone(),
                |page| {
                    let events: Vec<Value> = page.data.iter().filter_map(import_envelope).collect();
                    store_events(db, None, id, &events, &mut counts)?;
                    pages += 1;
                    state.imported += page.data.len() as i64;
                    if let Some(last) = page.last_id() {
                        state.cursor = Some(last.to_owned());
                    }
                    state.done = !page.has_more;
                    let (r2, st) = (res.clone(), state.clone());
                    db.write(move |c| q::set_backfill_state(c, id, &r2, &st, now_ms()))?;
                    progress(&BackfillProgress {
                        resource: res.clone(),
                        imported: state.imported,
                        pages,
                        done: state.done,
                    });
                    Ok(!cancel.load(Ordering::SeqCst))
                },
            )?;
            link_pending(db)?;
        }
        report.resources.push(ResourceReport {
            resource: resource.clone(),
            fetched: counts.fetched,
            new: counts.new,
            duplicates: counts.duplicates,
            imported_total: state.imported,
            done: state.done,
        });
        if cancel.load(Ordering::SeqCst) && !state.done {
            report.cancelled = true;
            break;
        }
    }
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// Customer lookup and thin events

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct LookupReport {
    /// Customers fetched from Stripe.
    pub looked_up: u64,
    /// Customers Stripe no longer has.
    pub missing: u64,
}

/// Fetches the customers that `unlinked` events name and that were never seen, so that those
/// events link to a data subject.
pub fn lookup_customers(ctx: &Context, id: i64) -> Result<LookupReport> {
    lookup_customers_with(&ctx.db, &client(ctx, id)?, id)
}

fn lookup_customers_with(db: &Db, client: &Client, id: i64) -> Result<LookupReport> {
    let mut report = LookupReport::default();
    loop {
        let unknown = db.read(|c| q::unknown_customers(c, id, 100))?;
        let unknown: Vec<String> = unknown
            .into_iter()
            .filter(|c| is_object_id(c, "cus_"))
            .collect();
        if unknown.is_empty() {
            break;
        }
        let mut fetched = Vec::new();
        for cus in &unknown {
            match client.get(&format!("/v1/customers/{cus}"), &[]) {
                Ok(obj) => {
                    report.looked_up += 1;
                    fetched.extend(import_envelope(&obj));
                }
                Err(StripeError::NotFound { .. }) => {
                    report.missing += 1;
                    // Remember the miss (an import with no data), so it is not asked again.
                    fetched.extend(import_envelope(
                        &json!({"id": cus, "object": "customer", "deleted": true}),
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        let mut counts = Counts::default();
        store_events(db, None, id, &fetched, &mut counts)?;
        link_pending(db)?;
        if counts.new == 0 {
            break;
        }
    }
    Ok(report)
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct ThinReport {
    /// Thin events whose payload was fetched and stored.
    pub fetched: u64,
    /// Thin events whose related object Stripe no longer has (kept, with no subject data).
    pub missing: u64,
}

/// Fetches the full payload of thin events (`awaiting_fetch`): the event from
/// `/v2/core/events/{id}`, then its `related_object.url`; stores the minimised object.
pub fn fetch_thin_events(ctx: &Context, id: i64) -> Result<ThinReport> {
    let client = client(ctx, id)?;
    let db = &ctx.db;
    let mut report = ThinReport::default();
    loop {
        let rows = db.read(|c| q::awaiting_fetch(c, id, 100))?;
        if rows.is_empty() {
            break;
        }
        let mut progressed = false;
        for (row, evt, event_type) in rows {
            if !is_object_id(&evt, "evt_") {
                tracing::warn!(row, "a thin event's id is not a Stripe event id; skipped");
                continue;
            }
            let v = client.get(&format!("/v2/core/events/{evt}"), &[])?;
            let url = v
                .get("related_object")
                .and_then(|r| r.get("url"))
                .and_then(Value::as_str)
                .filter(|u| {
                    u.starts_with("/v1/")
                        && u.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"/_-".contains(&b))
                });
            let object = match url {
                Some(u) => match client.get(u, &[]) {
                    Ok(o) => Some(o),
                    Err(StripeError::NotFound { .. }) => None,
                    Err(e) => return Err(e.into()),
                },
                None => None,
            };
            let created = v
                .get("created")
                .and_then(Value::as_str)
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.timestamp());
            let (object_id, customer_ref, observed, data) = match &object {
                Some(obj) => {
                    let envelope = json!({
                        "id": evt, "object": "event", "type": event_type,
                        "created": created, "data": {"object": obj},
                    });
                    let body = serde_json::to_vec(&envelope).expect("JSON serialises");
                    let inc = event::parse(&body, now_ms()).map_err(|e| {
                        Error::Unavailable(format!("the fetched object of event {evt}: {e}"))
                    })?;
                    let mut d = inc.data;
                    d.fields.insert("fetched".into(), Value::Bool(true));
                    report.fetched += 1;
                    (
                        d.object_id.clone(),
                        d.customer_ref.clone(),
                        d.observed.join(","),
                        serde_json::to_string(&d).expect("minimised data serialises"),
                    )
                }
                None => {
                    report.missing += 1;
                    let d = json!({"object": "v2.core.event", "fields": {"fetched": false}});
                    (None, None, String::new(), d.to_string())
                }
            };
            progressed |= db.write(move |c| {
                q::set_fetched(
                    c,
                    row,
                    object_id.as_deref(),
                    customer_ref.as_deref(),
                    &observed,
                    &data,
                )
            })?;
        }
        if !progressed {
            break;
        }
    }
    link_pending(db)?;
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// Catch-up in the background

/// How often the receiver catches up with Stripe while it runs.
pub const CATCH_UP_EVERY: Duration = Duration::from_secs(15 * 60);

/// Catches up every Stripe processor that has an API key. Processors without one are skipped
/// (they only receive webhooks). Returns each processor's outcome.
pub fn catch_up_all(ctx: &Context) -> Vec<(i64, Result<Counts>)> {
    let ids: Vec<i64> = match ctx.db.read(pq::list) {
        Ok(rows) => rows
            .into_iter()
            .filter(|p| p.kind == "stripe")
            .map(|p| p.id)
            .collect(),
        Err(e) => return vec![(0, Err(e))],
    };
    ids.into_iter()
        .filter(|id| matches!(ctx.keychain.get(*id, SecretKind::ApiKey), Ok(Some(_))))
        .map(|id| (id, catch_up(ctx, id)))
        .collect()
}

/// Catches up now, then every `every`, and at once after the computer wakes from sleep (the
/// wall clock jumps ahead of the monotonic one, which stops while suspended). Ends when `stop`
/// is set.
pub fn spawn_catch_up_loop(
    ctx: Context,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("catch-up".into())
        .spawn(move || {
            let tick = Duration::from_secs(1);
            loop {
                for (id, r) in catch_up_all(&ctx) {
                    match r {
                        Ok(c) => tracing::info!(
                            processor = id,
                            fetched = c.fetched,
                            new = c.new,
                            "caught up with Stripe"
                        ),
                        Err(e) => {
                            tracing::warn!(processor = id, error = %e, "catching up with Stripe failed")
                        }
                    }
                }
                let (mono, wall) = (Instant::now(), SystemTime::now());
                loop {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    std::thread::sleep(tick);
                    let slept = wall.elapsed().unwrap_or_default();
                    let woke = slept > mono.elapsed() + Duration::from_secs(60);
                    if woke || mono.elapsed() >= every {
                        break;
                    }
                }
            }
        })
        .expect("spawn the catch-up thread")
}
