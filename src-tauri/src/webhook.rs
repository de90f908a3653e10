//! The generic webhook processor: any system that signs its webhooks with HMAC-SHA256 of the
//! raw body (QuickBooks, Xero, NetSuite through a small script, …). Its configuration says
//! which header holds the signature, how it is encoded, and where (RFC 6901 JSON pointers) the
//! event id, type, time and the data subject's email are. Events become [`Incoming`] and go
//! through the same ingestion as Stripe's; the activity log shows them as `NAME:TYPE`.
//!
//! Minimisation: only the id, type, time, the subject's email (and name, if a pointer is
//! given) are kept. Other personal data in the body is not stored; its categories are noted
//! (by key names) for the RoPA's observed-vs-declared comparison.
//!
//! Replays. A signature of the body alone stays valid for ever: anyone who captured one
//! delivery could send it again at any time. So a processor can sign a timestamp too
//! ([`SignedTimestamp`]; `--timestamp`, on by default in the window's wizard), in the scheme of the Standard Webhooks specification
//! (<https://www.standardwebhooks.com/>, what Svix-based senders and its libraries in most
//! languages send): headers `webhook-id` and `webhook-timestamp` (unix seconds), and the HMAC
//! covers `{id}.{timestamp}.{body}`; a delivery whose signed time is further from now than the
//! tolerance (300 s, as Stripe's) is refused. Chosen over a scheme of our own because a sender
//! can use an existing library, and over Stripe's `t=…,v1=…` header because that one is
//! Stripe's alone. Senders that sign only the body (QuickBooks, Xero) are added without
//! it, as CONTRACT.md's `processor add webhook` describes; configurations stored before this
//! existed have no `timestamp` and keep working as before. Whatever the scheme, an event id already seen is answered `duplicate`,
//! also after the event was deleted (the replay cache, migrations/0011_replay_cache.sql).

use chrono::DateTime;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use ts_rs::TS;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::ingest::model::{normalise_email, Incoming, Minimised, SubjectData};
use crate::processors::{self, Processor};
use crate::secrets::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[serde(rename_all = "lowercase")]
pub enum SignatureEncoding {
    #[default]
    Hex,
    Base64,
}

impl std::str::FromStr for SignatureEncoding {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "hex" => Ok(SignatureEncoding::Hex),
            "base64" => Ok(SignatureEncoding::Base64),
            _ => Err(Error::invalid(format!(
                "unknown signature encoding '{s}': use hex or base64"
            ))),
        }
    }
}

/// A webhook processor's configuration, kept as JSON in `processors.config` (no secrets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct WebhookConfig {
    /// The request header holding the signature.
    pub signature_header: String,
    pub signature_encoding: SignatureEncoding,
    /// Text before the signature in the header (`sha256=`), if any.
    #[serde(default)]
    pub signature_prefix: String,
    pub id_pointer: String,
    pub type_pointer: String,
    /// The event's time: unix seconds or milliseconds, or RFC 3339. Absent: received time.
    #[serde(default)]
    pub time_pointer: Option<String>,
    pub email_pointer: String,
    #[serde(default)]
    pub name_pointer: Option<String>,
    /// Replay protection: a signed delivery id and timestamp (Standard Webhooks). `None`
    /// (absent in configurations stored before it existed, or added without `--timestamp`):
    /// only the body is signed.
    #[serde(default)]
    pub timestamp: Option<SignedTimestamp>,
}

/// The Standard Webhooks scheme: the signature header holds one or more space-separated
/// entries `{prefix}{signature}` (`v1,` and base64 in the specification), each an HMAC-SHA256
/// of `{id}.{timestamp}.{raw body}`; the key is the secret's bytes, or for a `whsec_…` secret
/// the base64 after `whsec_` (as the specification serialises its keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SignedTimestamp {
    /// The header with the delivery's id, covered by the signature.
    pub id_header: String,
    /// The header with the time the delivery was signed, in unix seconds.
    pub timestamp_header: String,
    /// How far from now (either way) a signed time may be.
    pub tolerance_secs: u32,
}

pub const DEFAULT_SIGNATURE_HEADER: &str = "X-Signature";
pub const DEFAULT_ID_HEADER: &str = "webhook-id";
pub const DEFAULT_TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// Stripe's and the Standard Webhooks specification's tolerance.
pub const DEFAULT_TOLERANCE_SECS: u32 = 300;
pub const MAX_TOLERANCE_SECS: u32 = 86_400;

impl Default for SignedTimestamp {
    fn default() -> Self {
        SignedTimestamp {
            id_header: DEFAULT_ID_HEADER.into(),
            timestamp_header: DEFAULT_TIMESTAMP_HEADER.into(),
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
        }
    }
}

fn is_header_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 100
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b))
}

impl WebhookConfig {
    pub fn check(&self) -> Result<()> {
        if !is_header_name(self.signature_header.trim()) {
            return Err(Error::invalid(
                "the signature header must be an HTTP header name, like X-Signature",
            ));
        }
        if self.signature_prefix.len() > 100 || self.signature_prefix.chars().any(char::is_control)
        {
            return Err(Error::invalid(
                "the signature prefix must be at most 100 printable characters",
            ));
        }
        if let Some(t) = &self.timestamp {
            for (flag, h) in [
                ("--id-header", &t.id_header),
                ("--timestamp-header", &t.timestamp_header),
            ] {
                if !is_header_name(h.trim()) {
                    return Err(Error::invalid(format!(
                        "{flag} must be an HTTP header name, like {}",
                        if flag == "--id-header" {
                            DEFAULT_ID_HEADER
                        } else {
                            DEFAULT_TIMESTAMP_HEADER
                        }
                    )));
                }
            }
            let names = [
                self.signature_header.trim(),
                t.id_header.trim(),
                t.timestamp_header.trim(),
            ];
            if names[0].eq_ignore_ascii_case(names[1])
                || names[0].eq_ignore_ascii_case(names[2])
                || names[1].eq_ignore_ascii_case(names[2])
            {
                return Err(Error::invalid(
                    "the signature, id and timestamp headers must be three different headers",
                ));
            }
            if !(1..=MAX_TOLERANCE_SECS).contains(&t.tolerance_secs) {
                return Err(Error::invalid(format!(
                    "--timestamp-tolerance must be between 1 and {MAX_TOLERANCE_SECS} seconds \
                     (300 is usual)"
                )));
            }
            // Entries of the signature header are separated by spaces.
            if self.signature_prefix.trim().contains(char::is_whitespace) {
                return Err(Error::invalid(
                    "with a signed timestamp the signature prefix cannot contain spaces",
                ));
            }
        }
        for (flag, p) in [
            ("--id-pointer", Some(&self.id_pointer)),
            ("--type-pointer", Some(&self.type_pointer)),
            ("--time-pointer", self.time_pointer.as_ref()),
            ("--email-pointer", Some(&self.email_pointer)),
            ("--name-pointer", self.name_pointer.as_ref()),
        ] {
            if let Some(p) = p {
                if !(p.is_empty() || p.starts_with('/')) || p.len() > 500 {
                    return Err(Error::invalid(format!(
                        "{flag} must be a JSON pointer (RFC 6901) such as /data/id"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Adds a generic webhook processor with a fresh endpoint id and token.
pub fn add(
    ctx: &Context,
    name: &str,
    config: WebhookConfig,
    signing_secret: Option<Secret>,
) -> Result<Processor> {
    config.check()?;
    if let Some(s) = &signing_secret {
        check_secret(s)?;
    }
    let json = serde_json::to_string(&config).expect("the config serialises");
    processors::add_endpoint(ctx, name, "webhook", &json, signing_secret)
}

/// A signing secret for a webhook processor: any shared secret of printable characters.
pub fn check_secret(s: &Secret) -> Result<()> {
    let v = s.expose();
    if v.len() < 8 || v.chars().any(char::is_control) {
        return Err(Error::invalid(
            "the signing secret must be at least 8 printable characters",
        ));
    }
    Ok(())
}

/// Why a request's signature is not accepted. Messages name the header, never values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    Missing(String),
    Malformed(String),
    NoSecret,
    Mismatch,
    /// A valid signature, but the signed time (in `header`) is `age_secs` from now, beyond
    /// the tolerance: a replay, or a wrong clock.
    Stale {
        header: String,
        age_secs: i64,
        tolerance_secs: u32,
    },
}

impl SignatureError {
    /// Short machine-readable outcome for the deliveries log (as Stripe's).
    pub fn outcome(&self) -> &'static str {
        match self {
            SignatureError::Stale { .. } => "stale_timestamp",
            _ => "bad_signature",
        }
    }
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureError::Missing(h) => write!(f, "the {h} header is missing"),
            SignatureError::Malformed(h) => write!(
                f,
                "the {h} header is not a signature in the configured prefix and encoding"
            ),
            SignatureError::NoSecret => f.write_str(
                "no signing secret is set for this processor: run `privacy-desk processor set-secret`",
            ),
            SignatureError::Mismatch => f.write_str(
                "the signature does not match the signing secret: check the secret and that the \
                 raw body is signed with HMAC-SHA256",
            ),
            SignatureError::Stale {
                header,
                age_secs,
                tolerance_secs,
            } => write!(
                f,
                "the {header} header is {} s {} now, beyond the {tolerance_secs} s tolerance: a \
                 replay, or a wrong clock (the header holds unix seconds)",
                age_secs.unsigned_abs(),
                if *age_secs >= 0 { "before" } else { "after" }
            ),
        }
    }
}

/// Checks `header` (the configured header's value) against HMAC-SHA256 of `body` with each
/// secret.
pub fn verify(
    cfg: &WebhookConfig,
    header: Option<&str>,
    body: &[u8],
    secrets: &[Secret],
) -> Result<(), SignatureError> {
    let name = || cfg.signature_header.clone();
    let value = header
        .ok_or_else(|| SignatureError::Missing(name()))?
        .trim();
    // The header arrives trimmed (HTTP drops the whitespace round a value), so whitespace
    // round the configured prefix cannot be matched and is not significant.
    let value = value
        .strip_prefix(cfg.signature_prefix.trim())
        .ok_or_else(|| SignatureError::Malformed(name()))?
        .trim();
    let given =
        decode(cfg.signature_encoding, value).ok_or_else(|| SignatureError::Malformed(name()))?;
    if given.len() != 32 {
        return Err(SignatureError::Malformed(name()));
    }
    if secrets.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let ok = secrets
        .iter()
        .any(|s| bool::from(sign_raw(s, body).ct_eq(given.as_slice())));
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Checks a delivery: the signature of its body, or with a [`SignedTimestamp`] the signature
/// of `{id}.{timestamp}.{body}` and the timestamp against `now_secs`. `header` looks a request
/// header up by name.
pub fn verify_delivery<'a>(
    cfg: &WebhookConfig,
    header: impl Fn(&str) -> Option<&'a str>,
    body: &[u8],
    secrets: &[Secret],
    now_secs: i64,
) -> Result<(), SignatureError> {
    let Some(t) = &cfg.timestamp else {
        return verify(cfg, header(&cfg.signature_header), body, secrets);
    };
    let sig_name = cfg.signature_header.trim();
    let id_name = t.id_header.trim();
    let ts_name = t.timestamp_header.trim();
    let sig = header(sig_name).ok_or_else(|| SignatureError::Missing(sig_name.into()))?;
    let id = header(id_name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| SignatureError::Missing(id_name.into()))?;
    let ts_text = header(ts_name)
        .map(str::trim)
        .ok_or_else(|| SignatureError::Missing(ts_name.into()))?;
    let ts: i64 =
        (!ts_text.is_empty() && ts_text.len() <= 18 && ts_text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| ts_text.parse().ok())
            .flatten()
            .ok_or_else(|| SignatureError::Malformed(ts_name.into()))?;
    // Entries that are not in the configured prefix and encoding (another version, `v1a,…`)
    // are skipped; at least one must be.
    let prefix = cfg.signature_prefix.trim();
    let given: Vec<Vec<u8>> = sig
        .split_ascii_whitespace()
        .filter_map(|e| e.strip_prefix(prefix))
        .filter_map(|e| decode(cfg.signature_encoding, e))
        .filter(|g| g.len() == 32)
        .collect();
    if given.is_empty() {
        return Err(SignatureError::Malformed(sig_name.into()));
    }
    if secrets.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let ok = secrets.iter().any(|s| {
        let mac = sign_timestamped_raw(s, id, ts_text, body);
        given.iter().any(|g| bool::from(mac.ct_eq(g.as_slice())))
    });
    if !ok {
        return Err(SignatureError::Mismatch);
    }
    let age_secs = now_secs.saturating_sub(ts);
    if age_secs.unsigned_abs() > u64::from(t.tolerance_secs) {
        return Err(SignatureError::Stale {
            header: ts_name.into(),
            age_secs,
            tolerance_secs: t.tolerance_secs,
        });
    }
    Ok(())
}

/// The HMAC key of a secret in the timestamped scheme: a Standard Webhooks `whsec_<base64>`
/// secret's decoded bytes, any other secret's own bytes.
fn timestamped_key(secret: &Secret) -> zeroize::Zeroizing<Vec<u8>> {
    use base64::Engine;
    let v = secret.expose();
    let decoded = v
        .strip_prefix("whsec_")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .filter(|k| !k.is_empty());
    zeroize::Zeroizing::new(decoded.unwrap_or_else(|| v.as_bytes().to_vec()))
}

fn sign_timestamped_raw(secret: &Secret, id: &str, ts: &str, body: &[u8]) -> [u8; 32] {
    let key = timestamped_key(secret);
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// The signature header value a sender with a [`SignedTimestamp`] would put for delivery `id`
/// signed at `ts` (unix seconds): prefix + encoded HMAC-SHA256 of `{id}.{ts}.{body}`.
pub fn sign_delivery(
    cfg: &WebhookConfig,
    secret: &Secret,
    id: &str,
    ts: i64,
    body: &[u8],
) -> String {
    format!(
        "{}{}",
        cfg.signature_prefix.trim(),
        encode(
            cfg.signature_encoding,
            &sign_timestamped_raw(secret, id, &ts.to_string(), body)
        )
    )
}

fn encode(enc: SignatureEncoding, mac: &[u8; 32]) -> String {
    use base64::Engine;
    match enc {
        SignatureEncoding::Hex => hex::encode(mac),
        SignatureEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode(mac),
    }
}

fn decode(enc: SignatureEncoding, v: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    match enc {
        SignatureEncoding::Hex => hex::decode(v).ok(),
        SignatureEncoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(v)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(v))
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v))
            .ok(),
    }
}

fn sign_raw(secret: &Secret, body: &[u8]) -> [u8; 32] {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// The header value a sender signing only the body would put: prefix + encoded HMAC-SHA256
/// (tests, scripts).
pub fn sign(cfg: &WebhookConfig, secret: &Secret, body: &[u8]) -> String {
    let enc = encode(cfg.signature_encoding, &sign_raw(secret, body));
    format!("{}{enc}", cfg.signature_prefix)
}

/// Why a body is not an event for this configuration. Messages name pointers, never values.
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

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> WebhookConfig {
        WebhookConfig {
            signature_header: "X-Books-Signature".into(),
            signature_encoding: SignatureEncoding::Base64,
            signature_prefix: "sha256=".into(),
            id_pointer: "/eventId".into(),
            type_pointer: "/eventType".into(),
            time_pointer: Some("/occurredAt".into()),
            email_pointer: "/entity/contact/email".into(),
            name_pointer: None,
            timestamp: None,
        }
    }

    #[test]
    fn signatures_verify_in_each_encoding_and_fail_otherwise() {
        let secret = Secret::new("shared-secret-1");
        let body = br#"{"eventId":"e1"}"#;
        for enc in [SignatureEncoding::Hex, SignatureEncoding::Base64] {
            let mut c = cfg();
            c.signature_encoding = enc;
            let h = sign(&c, &secret, body);
            assert!(h.starts_with("sha256="));
            assert_eq!(
                verify(&c, Some(&h), body, std::slice::from_ref(&secret)),
                Ok(())
            );
            assert_eq!(
                verify(&c, Some(&h), b"{}", std::slice::from_ref(&secret)),
                Err(SignatureError::Mismatch)
            );
            assert_eq!(
                verify(&c, Some(&h), body, &[Secret::new("other-secret")]),
                Err(SignatureError::Mismatch)
            );
            assert!(matches!(
                verify(
                    &c,
                    Some(h.trim_start_matches("sha256=")),
                    body,
                    std::slice::from_ref(&secret)
                ),
                Err(SignatureError::Malformed(_))
            ));
            assert!(matches!(
                verify(&c, None, body, std::slice::from_ref(&secret)),
                Err(SignatureError::Missing(_))
            ));
            assert_eq!(
                verify(&c, Some(&h), body, &[]),
                Err(SignatureError::NoSecret)
            );
        }
    }

    #[test]
    fn pointers_locate_the_event_and_only_minimal_data_is_kept() {
        let body = serde_json::json!({
            "eventId": 4711, "eventType": "invoice.paid", "occurredAt": "2025-11-10T18:22:00Z",
            "entity": {"contact": {"email": " Ann@Example.COM ", "phone": "+33 1 23",
                       "BillAddr": {"Line1": "1 rue X"}}, "amount": 12}
        });
        let inc = parse(&cfg(), body.to_string().as_bytes(), 5).unwrap();
        assert_eq!(inc.event_id, "4711");
        assert_eq!(inc.event_type, "invoice.paid");
        assert_eq!(inc.occurred_at, 1_762_798_920_000);
        assert_eq!(inc.data.subject.email.as_deref(), Some("ann@example.com"));
        assert_eq!(inc.data.observed, vec!["email", "phone", "postal_address"]);
        let stored = serde_json::to_string(&inc.data).unwrap();
        assert!(
            !stored.contains("+33") && !stored.contains("rue"),
            "{stored}"
        );

        let no_time = parse(
            &cfg(),
            br#"{"eventId":"a","eventType":"t","occurredAt":1762798920}"#,
            5,
        )
        .unwrap();
        assert_eq!(no_time.occurred_at, 1_762_798_920_000);
        assert_eq!(no_time.data.subject.email, None);
        let err = parse(&cfg(), br#"{"eventType":"t"}"#, 5).unwrap_err();
        assert!(err.0.contains("/eventId"), "{err}");
        assert!(parse(&cfg(), b"nope", 5).is_err());
    }

    /// A prefix typed with spaces round it (`check` allows them) still matches the header as
    /// it arrives, without them.
    #[test]
    fn a_prefix_with_spaces_round_it_still_matches() {
        let secret = Secret::new("shared-secret-1");
        let body = br#"{"eventId":"e1"}"#;
        let mut c = cfg();
        c.signature_prefix = " sha256= ".into();
        assert!(c.check().is_ok());
        let h = sign(&c, &secret, body);
        for sent in [h.as_str(), h.trim(), &h.replace(' ', "")] {
            assert_eq!(
                verify(&c, Some(sent), body, std::slice::from_ref(&secret)),
                Ok(()),
                "{sent:?}"
            );
        }
    }

    /// Times at the ends of the number range read without overflow: i64::MIN is taken as
    /// milliseconds (its `abs` overflowed), seconds saturate, floats beyond i64 saturate.
    #[test]
    fn extreme_times_are_refused_naming_the_field_not_overflowed() {
        let at = |t: &str| {
            let body = format!(r#"{{"eventId":"a","eventType":"t","occurredAt":{t}}}"#);
            parse(&cfg(), body.as_bytes(), 5).map(|i| i.occurred_at)
        };
        for t in [
            "-9223372036854775808",
            "9223372036854775807",
            "18446744073709551615",
            "-1e300",
            "-99999999999",
        ] {
            let e = at(t).unwrap_err();
            assert!(
                e.0.contains("/occurredAt") && e.0.contains("0001"),
                "{t}: {}",
                e.0
            );
        }
        // The edges of the range (numbers this large are milliseconds) are times.
        assert_eq!(at("-62135596800000").unwrap(), crate::time::EARLIEST_MS);
        assert_eq!(at("253402300799999").unwrap(), crate::time::LATEST_MS);
        assert!(at("253402300800000").is_err());
    }

    fn standard_webhooks() -> WebhookConfig {
        WebhookConfig {
            signature_header: "webhook-signature".into(),
            signature_encoding: SignatureEncoding::Base64,
            signature_prefix: "v1,".into(),
            timestamp: Some(SignedTimestamp::default()),
            ..cfg()
        }
    }

    fn headers<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        }
    }

    /// The specification's published example (secret, id, timestamp, payload → signature)
    /// verifies, among entries of other versions; then the clock, the id, the timestamp and
    /// the body each make it fail.
    #[test]
    fn the_standard_webhooks_example_verifies_and_each_signed_part_counts() {
        let c = standard_webhooks();
        // The specification's public test secret, joined at run time so that no string in
        // the source looks like a signing secret.
        let secret = Secret::new(["whsec", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"].join("_"));
        let body = br#"{"test": 2432232314}"#;
        let sig =
            "v1a,bm90IGFuIGVkMjU1MTkgc2lnbmF0dXJl v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        let ok = [
            ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
            ("webhook-timestamp", "1614265330"),
            ("webhook-signature", sig),
        ];
        let secrets = std::slice::from_ref(&secret);
        let check = |h: &[(&str, &str)], body: &[u8], now: i64| {
            verify_delivery(&c, headers(h), body, secrets, now)
        };
        assert_eq!(check(&ok, body, 1_614_265_330), Ok(()));
        assert_eq!(
            sign_delivery(
                &c,
                &secret,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                body
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        // Within the tolerance either way, and not beyond.
        assert_eq!(check(&ok, body, 1_614_265_330 + 300), Ok(()));
        assert_eq!(check(&ok, body, 1_614_265_330 - 300), Ok(()));
        let stale = check(&ok, body, 1_614_265_330 + 301).unwrap_err();
        assert_eq!(stale.outcome(), "stale_timestamp");
        assert!(
            stale.to_string().contains("webhook-timestamp") && stale.to_string().contains("301 s"),
            "{stale}"
        );
        assert!(check(&ok, body, 1_614_265_330 - 301)
            .unwrap_err()
            .to_string()
            .contains("after now"));
        // Each signed part, changed, is a mismatch (a fresh timestamp cannot be put on an
        // old signature).
        for (i, v) in [(0, "msg_other"), (1, "1614265331")] {
            let mut h = ok;
            h[i].1 = v;
            assert_eq!(
                check(&h, body, 1_614_265_331),
                Err(SignatureError::Mismatch),
                "{v}"
            );
        }
        assert_eq!(
            check(&ok, b"{}", 1_614_265_330),
            Err(SignatureError::Mismatch)
        );
        // Missing or unreadable parts name their header.
        for i in 0..3 {
            let h: Vec<_> = ok
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, p)| *p)
                .collect();
            assert_eq!(
                check(&h, body, 1_614_265_330),
                Err(SignatureError::Missing(ok[i].0.into()))
            );
        }
        for bad in [
            "",
            "1614265330.5",
            "-1614265330",
            "soon",
            "99999999999999999999",
        ] {
            let mut h = ok;
            h[1].1 = bad;
            assert_eq!(
                check(&h, body, 1_614_265_330),
                Err(SignatureError::Malformed("webhook-timestamp".into())),
                "{bad:?}"
            );
        }
        let mut h = ok;
        h[2].1 = "v1a,bm90IGFuIGVkMjU1MTkgc2lnbmF0dXJl";
        assert_eq!(
            check(&h, body, 1_614_265_330),
            Err(SignatureError::Malformed("webhook-signature".into()))
        );
        // A secret that is not `whsec_` + base64 is used as it is.
        let raw = Secret::new("a-plain-shared-secret");
        let sig = sign_delivery(&c, &raw, "m1", 1_614_265_330, body);
        let h = [
            ("webhook-id", "m1"),
            ("webhook-timestamp", "1614265330"),
            ("webhook-signature", sig.as_str()),
        ];
        assert_eq!(
            verify_delivery(&c, headers(&h), body, &[raw], 1_614_265_330),
            Ok(())
        );
    }

    /// A configuration stored before timestamps existed has none, and still verifies the
    /// body alone.
    #[test]
    fn a_config_stored_without_the_timestamp_field_verifies_the_body_alone() {
        let stored = r#"{"signature_header":"X-Books-Signature","signature_encoding":"base64",
            "signature_prefix":"sha256=","id_pointer":"/eventId","type_pointer":"/eventType",
            "time_pointer":"/occurredAt","email_pointer":"/entity/contact/email","name_pointer":null}"#;
        let c: WebhookConfig = serde_json::from_str(stored).unwrap();
        assert_eq!(c, cfg());
        let secret = Secret::new("shared-secret-1");
        let body = br#"{"eventId":"e1"}"#;
        let sig = sign(&c, &secret, body);
        let h = [("X-Books-Signature", sig.as_str())];
        assert_eq!(verify_delivery(&c, headers(&h), body, &[secret], 0), Ok(()));
    }

    #[test]
    fn bad_configs_are_refused() {
        let mut c = cfg();
        c.id_pointer = "eventId".into();
        assert_eq!(c.check().unwrap_err().code(), "invalid_input");
        let mut c = cfg();
        c.signature_header = "X Sig".into();
        assert!(c.check().is_err());
        assert!(cfg().check().is_ok());
        assert!(standard_webhooks().check().is_ok());
        let with = |f: fn(&mut SignedTimestamp)| {
            let mut c = standard_webhooks();
            f(c.timestamp.as_mut().unwrap());
            c.check().map_err(|e| e.to_string())
        };
        assert!(with(|t| t.tolerance_secs = 0)
            .unwrap_err()
            .contains("--timestamp-tolerance"));
        assert!(with(|t| t.tolerance_secs = 86_401).is_err());
        assert!(with(|t| t.timestamp_header = "when?".into())
            .unwrap_err()
            .contains("--timestamp-header"));
        assert!(with(|t| t.id_header = String::new())
            .unwrap_err()
            .contains("--id-header"));
        assert!(with(|t| t.id_header = "Webhook-Timestamp".into())
            .unwrap_err()
            .contains("different"));
        let mut c = standard_webhooks();
        c.signature_prefix = "sha 256=".into();
        assert!(c.check().is_err());
    }
}
