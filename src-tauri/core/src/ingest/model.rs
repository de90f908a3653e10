//! The neutral shape of an incoming event, whatever processor sent it. Adapters
//! (`stripe::event`, later the generic webhook) build one from a raw body; ingestion stores it.
//! Only allow-listed data gets here (docs/data-minimisation.md): the raw body is never stored.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Incoming {
    pub event_id: String,
    /// Without the source prefix: `customer.created`.
    pub event_type: String,
    /// The event's own time, unix ms.
    pub occurred_at: i64,
    pub livemode: Option<bool>,
    /// A thin event: a notification whose payload must be fetched from the processor's API.
    pub thin: bool,
    pub data: Minimised,
}

/// What is kept of an event: business facts, and the subject's data kept apart so that
/// erasure can drop it and keep the rest.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Minimised {
    /// The API object's kind (`customer`, `charge`, …) and id.
    pub object: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// The processor's id of the customer this event concerns (`cus_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_ref: Option<String>,
    /// Ids of other objects through which the subject can be found (a dispute's charge).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    /// Allow-listed non-personal fields: ids, amounts, currency, status, timestamps.
    pub fields: serde_json::Map<String, Value>,
    /// Of an update's `previous_attributes`, only the fields `fields` may hold: their values
    /// before the update. (The subject's previous email, name and address are in `subject`.)
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub previous: serde_json::Map<String, Value>,
    /// The customer's personal data, where the event carries it.
    #[serde(default, skip_serializing_if = "SubjectData::is_empty")]
    pub subject: SubjectData,
    /// Categories of personal data present in the event as received (kept or not).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observed: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SubjectData {
    /// Normalised (trimmed, lower-case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Value>,
    /// The address before an email change (from `previous_attributes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_email: Option<String>,
    /// The name before a change (from `previous_attributes`, customer events only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_name: Option<String>,
    /// The postal address before a change (the same address fields as `address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_address: Option<Value>,
    /// The event is about the customer record itself (`customer.*`): its email is
    /// authoritative for the subject, not just a contact on a payment.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_profile: bool,
    /// The customer was deleted at the processor.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl SubjectData {
    pub fn is_empty(&self) -> bool {
        *self == SubjectData::default()
    }
}

/// Emails match trimmed and case-insensitively. `None` for anything that is not an address.
pub(crate) fn normalise_email(raw: &str) -> Option<String> {
    let e = raw.trim().to_lowercase();
    let (local, domain) = e.split_once('@')?;
    let plausible = !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    plausible.then_some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalise_email("  Alice.Martin@Example.COM \n").as_deref(),
            Some("alice.martin@example.com")
        );
        for bad in [
            "",
            "alice",
            "@example.com",
            "a@",
            "a b@example.com",
            "a@b@c",
        ] {
            assert_eq!(normalise_email(bad), None, "{bad:?}");
        }
    }
}
