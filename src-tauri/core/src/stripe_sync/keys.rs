//! The restricted key: validated and stored ([`set_key`]), and the permissions each workflow
//! needs, probed ([`check`]).

use serde::Serialize;

use super::client;
use super::stripe_processor;
use crate::context::Context;
use crate::error::Result;
use crate::secrets::{Secret, SecretKind};
use crate::stripe::client::{key_info, Client, KeyKind, StripeError};

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

#[cfg(test)]
mod tests {
    use super::super::fake::{self, Fake};
    use super::*;

    #[test]
    fn probes_map_answers_to_permissions_and_permissions_to_workflows() {
        let fake = Fake::start(|r| match (r.method.as_str(), r.path.as_str()) {
            // Denied: a read and a write.
            (_, "/v1/charges") | (_, "/v1/webhook_endpoints/we_privacydeskprobe") => {
                fake::error(403)
            }
            // Write probes on objects that do not exist: granted.
            ("POST", "/v1/customers/cus_privacydeskprobe") => fake::error(404),
            // This account has no redaction jobs.
            (_, "/v1/privacy/redaction_jobs") => fake::error(404),
            ("GET", _) => (200, serde_json::json!({"object": "list", "data": []})),
            _ => fake::error(400),
        });
        let c = check_with(&fake.client(), &None).unwrap();
        assert_eq!((c.key_kind, c.livemode), ("restricted", false));
        let denied: Vec<&str> = c
            .permissions
            .iter()
            .filter(|p| !p.granted)
            .map(|p| p.name)
            .collect();
        assert_eq!(denied, ["charges_read", "webhook_endpoints_write"]);
        assert_eq!(c.permissions.len(), PROBES.len());
        let enabled: Vec<&str> = c
            .workflows
            .iter()
            .filter(|w| w.enabled)
            .map(|w| w.name)
            .collect();
        assert_eq!(
            enabled,
            [
                "catch_up",
                "thin_events",
                "customer_lookup",
                "backfill_customers",
                "erasure_at_stripe"
            ]
        );
        assert!(!c.redaction_jobs_available);
        // Reads are probed with `limit=1`, writes with a POST.
        let reqs = fake.requests();
        assert!(reqs
            .iter()
            .filter(|r| r.method == "GET")
            .all(|r| r.param("limit") == Some("1")));
        assert_eq!(reqs.iter().filter(|r| r.method == "POST").count(), 2);
    }

    #[test]
    fn the_key_names_its_kind_and_mode_and_other_failures_are_errors() {
        let fake = Fake::start(|_| fake::error(401));
        // Built at run time: no string in the source looks like a live key.
        let key = Some(Secret::new(format!("sk_{}_{}", "live", "0".repeat(24))));
        assert!(check_with(&fake.client(), &key).is_err());
        let ok = Fake::start(|_| (200, serde_json::json!({"object": "list", "data": []})));
        let c = check_with(&ok.client(), &key).unwrap();
        assert_eq!((c.key_kind, c.livemode), ("secret", true));
        assert!(c.permissions.iter().all(|p| p.granted));
        assert!(c.workflows.iter().all(|w| w.enabled));
        assert!(c.redaction_jobs_available);
    }
}
