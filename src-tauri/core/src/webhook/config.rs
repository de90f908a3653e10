//! A webhook processor's configuration: which header holds the signature and how it is
//! encoded, where the event's fields are (RFC 6901 JSON pointers), and the optional signed
//! timestamp. Kept as JSON in `processors.config` (no secrets).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, Result};
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
