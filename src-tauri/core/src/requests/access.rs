//! The access package (GDPR Art. 15, CCPA § 1798.110): everything held locally about the
//! subject (profile, email history, activity, requests) and, when the Stripe API is reachable,
//! live from Stripe (customer, charges, payment intents, invoices, subscriptions with
//! `status=all`, payment methods as brand + last4 only). One .zip holding JSON and CSV per
//! category, an HTML summary with a cover letter, and `manifest.json` with the SHA-256 of every
//! other file. Works offline with the local data, and says so.

use std::path::Path;

use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use ts_rs::TS;

use super::erasure::gather;
use super::{row, start_work, view, Kind, Regime};
use crate::audit::{self, Entry};
use crate::context::Context;
use crate::domain::processors::ProcessorKind;
use crate::error::{Error, Result};
use crate::ingest::model::Minimised;
use crate::secrets::SecretKind;
use crate::store::requests as q;
use crate::stripe::client::{Client, StripeError};
use crate::time::{now_ms, to_rfc3339};

mod render;
pub mod review;
mod summary;

#[derive(Debug, Clone, Serialize, TS)]
pub struct ManifestFile {
    pub name: String,
    pub sha256: String,
    pub bytes: u64,
    pub records: Option<u64>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct AccessPackage {
    /// The .zip written.
    pub path: String,
    /// SHA-256 of the .zip.
    pub sha256: String,
    /// `live`, `offline` (Stripe unreachable: local data only), `not_configured` (no API
    /// key) or `none` (no Stripe customer known).
    pub stripe: String,
    pub files: Vec<ManifestFile>,
    /// Objects Stripe's lists returned that belong to another customer: left out of the
    /// package (their ids are in the log).
    pub foreign_objects_dropped: u64,
}

/// Progress of a package build, for a progress bar.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Progress {
    pub step: String,
    pub done: u32,
    pub total: u32,
}

/// One category: records as JSON objects.
#[derive(Clone)]
struct Category {
    name: &'static str,
    title: &'static str,
    records: Vec<Value>,
}

/// The categories, in the package's order: file name stem and title.
const CATEGORIES: &[(&str, &str)] = &[
    ("profile", "Profile"),
    ("email_history", "Email addresses"),
    (
        "activity",
        "Processing activity (events received from processors)",
    ),
    ("requests", "Your requests to us"),
    ("stripe_customer", "Stripe: customer record"),
    ("stripe_charges", "Stripe: charges"),
    ("stripe_payment_intents", "Stripe: payment intents"),
    ("stripe_invoices", "Stripe: invoices"),
    ("stripe_subscriptions", "Stripe: subscriptions"),
    (
        "stripe_payment_methods",
        "Stripe: payment methods (brand and last 4 digits only)",
    ),
];

/// Keys dropped from Stripe objects: secrets, card details, links that grant access.
const DROP: &[&str] = &[
    "client_secret",
    "fingerprint",
    "payment_method_details",
    "source",
    "sources",
    "receipt_url",
    "hosted_invoice_url",
    "invoice_pdf",
    "card",
];

fn scrub(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for k in DROP {
                m.remove(*k);
            }
            for (_, x) in m.iter_mut() {
                scrub(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(scrub),
        _ => {}
    }
}

fn payment_method(pm: &Value) -> Value {
    let card = pm.get("card");
    json!({
        "id": pm.get("id"),
        "type": pm.get("type"),
        "brand": card.and_then(|c| c.get("brand")),
        "last4": card.and_then(|c| c.get("last4")),
    })
}

/// Fetches the customer's Stripe records into `cats`; returns how many objects Stripe's lists
/// held that belong to another customer (left out).
fn fetch_stripe(
    client: &Client,
    cus: &str,
    cats: &mut [Category],
) -> std::result::Result<usize, StripeError> {
    let customer = match client.get(&format!("/v1/customers/{cus}"), &[]) {
        Ok(mut c) => {
            scrub(&mut c);
            Some(c)
        }
        Err(StripeError::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    let mut dropped = 0;
    let mut fetched: Vec<(&str, Vec<Value>)> =
        vec![("stripe_customer", customer.into_iter().collect())];
    for (name, path, extra) in [
        ("stripe_charges", "/v1/charges", &[][..]),
        ("stripe_payment_intents", "/v1/payment_intents", &[][..]),
        ("stripe_invoices", "/v1/invoices", &[][..]),
        (
            "stripe_subscriptions",
            "/v1/subscriptions",
            &[("status", "all")][..],
        ),
    ] {
        let mut listed = client.list_of_customer(path, cus, extra)?;
        listed.objects.iter_mut().for_each(scrub);
        dropped += listed.dropped;
        fetched.push((name, listed.objects));
    }
    let pms = client.list_of_customer("/v1/payment_methods", cus, &[])?;
    dropped += pms.dropped;
    fetched.push((
        "stripe_payment_methods",
        pms.objects.iter().map(payment_method).collect(),
    ));
    for (name, objs) in fetched {
        if let Some(c) = cats.iter_mut().find(|c| c.name == name) {
            c.records.extend(objs);
        }
    }
    Ok(dropped)
}

/// A record's value as a CSV cell: null empty, a string as it is, anything else (numbers,
/// booleans, nested objects and arrays) as its JSON text.
fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// CSV (`csv_out`) with one column per top-level key (in first-seen order); nested values as
/// JSON. With no records it is one empty header record (`""`).
pub(crate) fn to_csv(records: &[Value]) -> Vec<u8> {
    let mut cols: Vec<&String> = Vec::new();
    for r in records {
        if let Value::Object(m) = r {
            for k in m.keys() {
                if !cols.contains(&k) {
                    cols.push(k);
                }
            }
        }
    }
    let rows = records.iter().map(|r| {
        cols.iter()
            .map(|c| cell(r.get(c.as_str())))
            .collect::<Vec<_>>()
    });
    let header = cols.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    crate::csv_out::to_bytes(std::iter::once(header).chain(rows))
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Builds the access package of request `id` into `out_dir`. An unverified identity needs a
/// recorded override first (`requests::override_identity`).
pub fn build(
    ctx: &Context,
    id: i64,
    out_dir: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<AccessPackage> {
    let r = row(ctx, id)?;
    if !matches!(r.kind, Kind::Access | Kind::Portability) {
        return Err(Error::invalid(format!(
            "request {id} is an {} request: access packages are for access requests",
            r.kind
        )));
    }
    let email = r.email.clone().ok_or_else(|| {
        Error::Blocked(format!(
            "the subject of request {id} was erased: nothing is held to put in a package"
        ))
    })?;
    super::require_identity_or_override(ctx, &r)?;
    let mut step = |s: &str, done: u32| {
        progress(Progress {
            step: s.into(),
            done,
            total: 4,
        })
    };
    step("local data", 0);
    let g = gather(ctx, Some(&email), None)?;
    let requests = ctx.db.read(|c| q::by_subject_hash(c, &r.subject_hash))?;
    let today = chrono::Utc::now().date_naive();

    let mut cats: Vec<Category> = CATEGORIES
        .iter()
        .map(|&(name, title)| Category {
            name,
            title,
            records: vec![],
        })
        .collect();
    if let Some(s) = &g.subject {
        cats[0].records.push(json!({
            "email": s.email,
            "name": s.name,
            "status": s.status,
            "first_seen_at": to_rfc3339(s.created_at),
            "processor_ids": g.customers.iter().map(|(p, c, _)| format!("{p}:{c}")).collect::<Vec<_>>().join(" "),
        }));
    }
    cats[1].records = g
        .emails
        .iter()
        .map(|e| {
            json!({
                "email": e.email,
                "first_seen_at": to_rfc3339(e.first_seen_at),
                "replaced_at": e.replaced_at.map(to_rfc3339),
            })
        })
        .collect();
    cats[2].records = g
        .events
        .iter()
        .map(|e| {
            let m: Minimised = serde_json::from_str(&e.data).unwrap_or_default();
            let mut personal = Map::new();
            if let Some(v) = &m.subject.email {
                personal.insert("email".into(), json!(v));
            }
            if let Some(v) = &m.subject.name {
                personal.insert("name".into(), json!(v));
            }
            if let Some(v) = &m.subject.address {
                personal.insert("address".into(), v.clone());
            }
            json!({
                "occurred_at": to_rfc3339(e.occurred_at),
                "received_at": to_rfc3339(e.received_at),
                "source": e.source,
                "event_type": e.event_type,
                "event_id": e.event_id,
                "object": m.object,
                "object_id": e.object_id,
                "customer": e.customer_ref,
                "details": Value::Object(m.fields),
                "personal_data": Value::Object(personal),
            })
        })
        .collect();
    cats[3].records = requests
        .into_iter()
        .map(|x| {
            let v = view(x, today);
            json!({
                "id": v.id, "kind": v.kind, "regime": v.regime, "received_at": v.received_at,
                "due_at": v.due_at, "status": v.status, "extended": v.extended,
                "extension_reason": v.extension_reason, "identity_method": v.identity_method,
                "completed_at": v.completed_at,
            })
        })
        .collect();

    step("Stripe", 1);
    let mut stripe = "none".to_owned();
    let mut stripe_note: Option<String> = None;
    let mut foreign_objects_dropped = 0u64;
    for (pid, cus, kind) in &g.customers {
        if *kind != Some(ProcessorKind::Stripe) {
            continue;
        }
        let Some(key) = ctx.keychain.get(*pid, SecretKind::ApiKey)? else {
            stripe = "not_configured".into();
            stripe_note = Some(format!(
                "Stripe processor {pid} has no API key set, so nothing was fetched from Stripe; \
                 this package holds what Privacy Desk has recorded locally"
            ));
            continue;
        };
        let client = Client::new(key)?;
        match fetch_stripe(&client, cus, &mut cats) {
            Ok(n) => {
                foreign_objects_dropped += n as u64;
                if stripe != "offline" {
                    stripe = "live".into();
                }
            }
            Err(e) if e.is_unreachable() => {
                tracing::warn!(error = %e, "access package: Stripe unreachable");
                stripe = "offline".into();
                stripe_note = Some(format!(
                    "Stripe could not be reached when this package was made ({}), so it holds \
                     only what Privacy Desk has recorded locally; ask us for the Stripe records \
                     again later",
                    to_rfc3339(now_ms())
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }

    step("files", 2);
    let generated = to_rfc3339(now_ms());
    let org = crate::domain::settings::get(ctx)?.org;
    let (files, manifest_files) = render::files(
        &cats,
        render::Meta {
            id,
            org: &org,
            email: &email,
            regime: Regime::parse(&r.regime)?,
            regime_code: &r.regime,
            received: &to_rfc3339(r.received_at),
            generated: &generated,
            letter_date: &generated,
            stripe: &stripe,
            note: stripe_note.as_deref(),
            withheld: None,
            manifest_extra: Map::new(),
        },
    );

    step("zip", 3);
    let path = out_dir.join(format!("access-request-{id}.zip"));
    let sha = render::write_zip(&path, id, &files)?;

    let key = ctx.keychain.hash_key()?;
    let e = Entry::new(audit::SYSTEM, "access.package_created")
        .request(id)
        .subject(&r.subject_hash)
        .details(json!({ "sha256": sha, "files": files.len(), "stripe": stripe }));
    let r2 = r.clone();
    let (written, sha2) = (path.display().to_string(), sha.clone());
    ctx.db.write(move |c| {
        let now = now_ms();
        start_work(c, &r2, now)?;
        // The package waits for its review (`review.rs`) before it is released.
        let dropped = foreign_objects_dropped as i64;
        crate::store::access_review::set_built(c, id, &written, &sha2, dropped, now)?;
        audit::append(c, &key, &e, now)?;
        Ok(())
    })?;
    step("done", 4);
    Ok(AccessPackage {
        path: path.display().to_string(),
        sha256: sha,
        stripe,
        files: manifest_files,
        foreign_objects_dropped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let csv = String::from_utf8(to_csv(&[
            json!({"a": "x,y", "b": "=SUM(A1)", "c": -5}),
            json!({"a": "say \"hi\"", "d": {"k": 1}}),
        ]))
        .unwrap();
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], "a,b,c,d");
        assert_eq!(lines[1], "\"x,y\",'=SUM(A1),-5,");
        assert_eq!(lines[2], "\"say \"\"hi\"\"\",,,\"{\"\"k\"\":1}\"");
    }

    #[test]
    fn payment_methods_keep_brand_and_last4_only() {
        let pm = json!({"id": "pm_1", "type": "card", "card": {"brand": "visa", "last4": "4242",
            "fingerprint": "fp", "exp_month": 1}, "billing_details": {"name": "A"}});
        assert_eq!(
            payment_method(&pm),
            json!({"id": "pm_1", "type": "card", "brand": "visa", "last4": "4242"})
        );
    }
}
