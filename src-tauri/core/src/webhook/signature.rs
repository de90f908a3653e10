//! Verifying and making the HMAC-SHA256 signatures of a webhook processor's deliveries: of
//! the raw body, or of `{id}.{timestamp}.{body}` (Standard Webhooks).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::config::{SignatureEncoding, WebhookConfig};
use crate::secrets::Secret;

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
                "the {header} header says the delivery was signed {}, beyond the \
                 {tolerance_secs} s tolerance: a replay, or a wrong clock (the header holds unix \
                 seconds)",
                crate::time::age_in_words(*age_secs)
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
