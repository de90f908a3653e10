//! How an erasure reaches Stripe: the processor's setting, DELETE or a redaction job where the
//! account has them.

use serde::Serialize;
use serde_json::{json, Value};

use super::{client, stripe_processor};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::store::processors as pq;
use crate::time::now_ms;

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
    Ok(method_in_config(&stripe_processor(ctx, id)?.config))
}

/// A processor config's `erasure_method`: anything but `redaction_job` is delete.
fn method_in_config(config: &str) -> ErasureMethod {
    let cfg: Value = serde_json::from_str(config).unwrap_or(Value::Null);
    match cfg.get("erasure_method").and_then(Value::as_str) {
        Some("redaction_job") => ErasureMethod::RedactionJob,
        _ => ErasureMethod::Delete,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_parse_both_spellings_and_round_trip() {
        assert_eq!(
            ErasureMethod::parse(" delete ").unwrap(),
            ErasureMethod::Delete
        );
        for s in ["redaction-job", "redaction_job"] {
            assert_eq!(
                ErasureMethod::parse(s).unwrap(),
                ErasureMethod::RedactionJob
            );
        }
        for m in [ErasureMethod::Delete, ErasureMethod::RedactionJob] {
            assert_eq!(ErasureMethod::parse(m.as_str()).unwrap(), m);
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
        for bad in ["", "Delete", "redact", "redaction job"] {
            assert!(
                matches!(ErasureMethod::parse(bad), Err(Error::InvalidInput(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_config_without_a_redaction_job_means_delete() {
        assert_eq!(
            method_in_config(r#"{"erasure_method": "redaction_job"}"#),
            ErasureMethod::RedactionJob
        );
        for cfg in [
            "{}",
            "",
            "not json",
            r#"{"erasure_method": "redaction-job"}"#,
            r#"{"erasure_method": 1}"#,
            r#"{"erasure_method": "delete"}"#,
        ] {
            assert_eq!(method_in_config(cfg), ErasureMethod::Delete, "{cfg:?}");
        }
    }
}
