//! Stripe redaction jobs (`/v1/privacy/redaction_jobs`, a Stripe preview API): Stripe removes
//! the personal data from the objects named (and the ones related to them) while the payment
//! records themselves stay, which suits Art. 17(3)(b) better than deleting the customer.
//!
//! A job is created, validates on its own (`created`/`validating` → `ready` or `failed`), shows
//! its validation errors when `failed`, is validated again after a fix, and is run once `ready`
//! (`redacting` → `succeeded`; a run cannot be undone or cancelled). This module is the HTTP
//! side only; the erasure state machine in `requests::erasure` drives it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::client::{Client, StripeError};

pub const PATH: &str = "/v1/privacy/redaction_jobs";

/// The object kinds a job accepts, by the prefix of their Stripe ids.
const KINDS: &[(&str, &str)] = &[
    ("cus_", "customers"),
    ("ch_", "charges"),
    ("py_", "charges"),
    ("pi_", "payment_intents"),
    ("in_", "invoices"),
    ("cs_", "checkout_sessions"),
    ("seti_", "setup_intents"),
];

/// The job's parameter group for a Stripe object id (`customers` for `cus_…`), if a job can
/// name it.
pub(crate) fn kind_of(object_id: &str) -> Option<&'static str> {
    KINDS
        .iter()
        .find(|(prefix, _)| object_id.starts_with(prefix))
        .map(|(_, kind)| *kind)
}

/// The objects of one job, grouped as Stripe's `objects[…]` parameter groups them.
pub type Objects = BTreeMap<String, Vec<String>>;

/// Groups ids by kind, dropping duplicates and ids a job cannot name.
pub fn group<'a>(ids: impl IntoIterator<Item = &'a str>) -> Objects {
    let mut out = Objects::new();
    for id in ids {
        if let Some(kind) = kind_of(id) {
            let list = out.entry(kind.to_owned()).or_default();
            if !list.iter().any(|x| x == id) {
                list.push(id.to_owned());
            }
        }
    }
    out
}

/// A job as Stripe reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    /// `created`, `validating`, `ready`, `failed`, `redacting`, `succeeded`, `canceling`,
    /// `canceled`.
    pub status: String,
}

impl Job {
    fn from(v: &Value) -> Result<Job, StripeError> {
        match (
            v.get("id").and_then(Value::as_str),
            v.get("status").and_then(Value::as_str),
        ) {
            (Some(id), Some(status)) => Ok(Job {
                id: id.to_owned(),
                status: status.to_owned(),
            }),
            _ => Err(StripeError::Server { status: 200 }),
        }
    }

    /// Still validating: wait.
    pub fn validating(&self) -> bool {
        matches!(self.status.as_str(), "created" | "validating")
    }
}

/// One reason a job cannot run: Stripe's code and the object concerned. Stripe's `message` is
/// free text that may name the person, so it is not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// `invalid_state`, `locked_by_other_job`, `too_many_objects`, `invalid_cascading_source`…
    pub code: String,
    pub object_id: Option<String>,
    pub object_type: Option<String>,
}

impl ValidationError {
    /// What the officer can do about it.
    pub(crate) fn advice(&self) -> &'static str {
        match self.code.as_str() {
            "invalid_state" => {
                "finish or cancel it in the Stripe Dashboard (an open invoice, an active \
                 subscription, a pending payment…)"
            }
            "locked_by_other_job" => {
                "another redaction job holds it: let that job finish or cancel it in Stripe"
            }
            "too_many_objects" => {
                "the job names too many objects: ask Stripe support, or delete the customer instead"
            }
            _ => "resolve it in the Stripe Dashboard",
        }
    }
}

/// Creates the job (its validation starts on its own). The key makes a repeated create
/// return the first job instead of making a second.
pub fn create(
    client: &Client,
    objects: &Objects,
    idempotency_key: &str,
) -> Result<Job, StripeError> {
    let mut form = Vec::new();
    for (kind, ids) in objects {
        for id in ids {
            form.push((format!("objects[{kind}][]"), id.clone()));
        }
    }
    form.push(("validation_behavior".into(), "error".into()));
    Job::from(&client.post_idempotent(PATH, &form, idempotency_key)?)
}

pub(crate) fn retrieve(client: &Client, id: &str) -> Result<Job, StripeError> {
    Job::from(&client.get(&format!("{PATH}/{id}"), &[])?)
}

/// Validates a `failed` job again (after its errors were fixed in Stripe).
pub fn validate(client: &Client, id: &str, idempotency_key: &str) -> Result<Job, StripeError> {
    Job::from(&client.post_idempotent(&format!("{PATH}/{id}/validate"), &[], idempotency_key)?)
}

/// Runs a `ready` job. Irreversible.
pub fn run(client: &Client, id: &str, idempotency_key: &str) -> Result<Job, StripeError> {
    Job::from(&client.post_idempotent(&format!("{PATH}/{id}/run"), &[], idempotency_key)?)
}

/// Every validation error of the job.
pub fn validation_errors(client: &Client, id: &str) -> Result<Vec<ValidationError>, StripeError> {
    let mut out = Vec::new();
    client.list_pages::<StripeError>(
        &format!("{PATH}/{id}/validation_errors"),
        &[],
        None,
        |page| {
            for e in &page.data {
                let obj = e.get("erroring_object");
                let field = |k: &str| {
                    obj.and_then(|o| o.get(k))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                out.push(ValidationError {
                    code: e
                        .get("code")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown")
                        .to_owned(),
                    object_id: field("id"),
                    object_type: field("object_type").or_else(|| field("object")),
                });
            }
            Ok(true)
        },
    )?;
    Ok(out)
}

/// Polls the job until `done(status)` or `limit` passes; returns the last state seen.
pub fn wait(
    client: &Client,
    id: &str,
    limit: Duration,
    done: impl Fn(&Job) -> bool,
) -> Result<Job, StripeError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        let job = retrieve(client, id)?;
        if done(&job) || started.elapsed() >= limit {
            return Ok(job);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// Whether the account has redaction jobs: `Ok(false)` when Stripe does not know the path (the
/// preview is not enabled) or the key may not use it.
pub fn available(client: &Client) -> Result<bool, StripeError> {
    match client.get(PATH, &[("limit".into(), "1".into())]) {
        Ok(_) => Ok(true),
        Err(StripeError::NotFound { .. } | StripeError::Permission { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_grouped_by_id_prefix() {
        let g = group([
            "cus_1",
            "ch_1",
            "pi_1",
            "pi_1",
            "in_1",
            "cs_test_1",
            "seti_1",
            "sub_1",
            "pm_1",
        ]);
        assert_eq!(g["customers"], ["cus_1"]);
        assert_eq!(g["charges"], ["ch_1"]);
        assert_eq!(g["payment_intents"], ["pi_1"], "duplicates dropped");
        assert_eq!(g["invoices"], ["in_1"]);
        assert_eq!(g["checkout_sessions"], ["cs_test_1"]);
        assert_eq!(g["setup_intents"], ["seti_1"]);
        assert_eq!(
            g.len(),
            6,
            "subscriptions and payment methods are not job objects"
        );
    }
}
