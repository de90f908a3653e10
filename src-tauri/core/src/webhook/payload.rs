//! A verified delivery's body → [`Incoming`]: the id, type, time and the subject's email and
//! name at the configured pointers, and the categories of the rest (key names only).

use chrono::DateTime;
use serde_json::{Map, Value};

use super::config::WebhookConfig;
use crate::ingest::model::{normalise_email, Incoming, Minimised, SubjectData};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadError(pub String);

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

const MAX_TOKEN_LEN: usize = 255;

/// The body as an [`Incoming`] event, keeping only id, type, time, email (and name).
pub fn parse(
    cfg: &WebhookConfig,
    body: &[u8],
    received_at_ms: i64,
) -> Result<Incoming, PayloadError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| PayloadError("the body is not JSON".into()))?;
    let token = |ptr: &str, what: &str| -> Result<String, PayloadError> {
        let s = match v.pointer(ptr) {
            Some(Value::String(s)) => s.trim().to_owned(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(PayloadError(format!(
                    "the event has no string or number at the {what} pointer {ptr}"
                )))
            }
        };
        if s.is_empty() || s.len() > MAX_TOKEN_LEN || s.chars().any(char::is_control) {
            return Err(PayloadError(format!(
                "the event's {what} (at {ptr}) is empty, too long or not printable"
            )));
        }
        Ok(s)
    };
    let event_id = token(&cfg.id_pointer, "id")?;
    let event_type = token(&cfg.type_pointer, "type")?;
    // A time that cannot be read falls back to the receipt time; one that reads but lies
    // outside the years 0001–9999 is refused (it cannot be shown or exported).
    let occurred_at = match cfg
        .time_pointer
        .as_deref()
        .and_then(|ptr| Some((ptr, time_ms(v.pointer(ptr)?)?)))
    {
        None => received_at_ms,
        Some((_, ms)) if crate::time::in_range(ms) => ms,
        Some((ptr, _)) => {
            return Err(PayloadError(format!(
                "the event's time (at {ptr}) is not a time in the years 0001–9999"
            )))
        }
    };
    let email = v
        .pointer(&cfg.email_pointer)
        .and_then(Value::as_str)
        .and_then(normalise_email);
    let name = cfg
        .name_pointer
        .as_deref()
        .and_then(|p| v.pointer(p))
        .and_then(Value::as_str)
        .map(|s| s.trim().chars().take(200).collect::<String>())
        .filter(|s| !s.is_empty());

    let mut observed = Vec::new();
    if email.is_some() {
        observed.push("email".to_owned());
    }
    if name.is_some() {
        observed.push("name".to_owned());
    }
    let mut seen = std::collections::BTreeSet::new();
    scan_keys(&v, 0, &mut seen);
    for c in seen {
        if !observed.iter().any(|o| o == c) {
            observed.push(c.to_owned());
        }
    }

    Ok(Incoming {
        event_id,
        event_type,
        occurred_at,
        livemode: None,
        thin: false,
        data: Minimised {
            object: "webhook".into(),
            object_id: None,
            customer_ref: None,
            related: Vec::new(),
            fields: Map::new(),
            previous: Map::new(),
            subject: SubjectData {
                email,
                name,
                ..SubjectData::default()
            },
            observed,
        },
    })
}

/// Unix seconds (or milliseconds, when large), or an RFC 3339 string.
fn time_ms(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => {
            let x = n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?;
            // `unsigned_abs`: `abs` of i64::MIN (a number in the body) overflows.
            Some(if x.unsigned_abs() >= 100_000_000_000 {
                x
            } else {
                x.saturating_mul(1000)
            })
        }
        Value::String(s) => DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| t.timestamp_millis()),
        _ => None,
    }
}

/// Categories of personal data suggested by key names holding non-empty values (names only:
/// nothing of the values is kept).
fn scan_keys(v: &Value, depth: usize, out: &mut std::collections::BTreeSet<&'static str>) {
    if depth > 16 {
        return;
    }
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                let k = k.to_ascii_lowercase();
                let filled = match x {
                    Value::Null => false,
                    Value::String(s) => !s.trim().is_empty(),
                    Value::Array(a) => !a.is_empty(),
                    Value::Object(o) => !o.is_empty(),
                    _ => true,
                };
                let looks_like_email = x.as_str().is_some_and(|s| s.contains('@'));
                if filled {
                    if k.contains("email") || k == "mail" || looks_like_email {
                        out.insert("email");
                    } else if k.contains("phone") || k == "mobile" || k == "tel" {
                        out.insert("phone");
                    } else if k.contains("shipping") || k.contains("shipto") {
                        out.insert("shipping_address");
                    } else if k.contains("address") || k == "billaddr" || k == "postcode" {
                        out.insert("postal_address");
                    } else if k.contains("tax_id") || k.contains("taxid") || k.contains("vat") {
                        out.insert("tax_id");
                    } else if k.contains("card") || k.contains("iban") {
                        out.insert("payment_card");
                    }
                }
                scan_keys(x, depth + 1, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| scan_keys(x, depth + 1, out)),
        _ => {}
    }
}
