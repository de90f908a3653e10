//! Deliveries: every request the receiver answered, for troubleshooting, with what to do.

use serde::Serialize;
use ts_rs::TS;

use crate::error::Result;
use crate::store::{deliveries as q, Db};
use crate::time::{now_ms, to_rfc3339};

#[derive(Debug, Clone, Serialize, TS)]
pub struct Delivery {
    pub received_at: String,
    pub status_code: u16,
    pub outcome: String,
    pub reason: Option<String>,
    pub event_id: Option<String>,
    pub processor_id: Option<i64>,
    /// What to do about a rejected delivery, in plain words; the technical `reason` stays
    /// available beside it (the screen shows it under "Details", not twice).
    pub hint: Option<String>,
}

/// Newest first; with `rejected_first`, rejected deliveries before accepted ones; of one
/// processor, or (`None`) of all.
pub fn list(
    db: &Db,
    limit: u32,
    rejected_first: bool,
    processor: Option<i64>,
) -> Result<Vec<Delivery>> {
    Ok(db
        .read(|c| q::list(c, limit, rejected_first, processor))?
        .into_iter()
        .map(|d| Delivery {
            hint: hint(d.status_code, &d.outcome).map(str::to_owned),
            received_at: to_rfc3339(d.received_at),
            status_code: d.status_code,
            outcome: d.outcome,
            reason: d.reason,
            event_id: d.event_id,
            processor_id: d.processor_id,
        })
        .collect())
}

pub fn rejected_last_24h(db: &Db) -> Result<i64> {
    let since = now_ms() - 86_400_000;
    db.read(|c| q::count_rejected_since(c, since))
}

/// The fix for a rejected delivery, in the words a privacy officer needs.
pub fn hint(status: u16, outcome: &str) -> Option<&'static str> {
    Some(match (status, outcome) {
        (200, _) => return None,
        (401, _) => "The token in the URL is wrong or the endpoint is unknown: copy the webhook URL from Privacy Desk into Stripe again.",
        (_, "stale_timestamp") => "The signed time is more than 5 minutes off: check this computer's clock (set time automatically), or this was a replayed request.",
        (_, "bad_signature") => "The signature does not match: copy the endpoint's signing secret (whsec_…) from Stripe into Privacy Desk again.",
        (_, "invalid_payload") => "The body is not a Stripe event: check that the endpoint in Stripe is a webhook endpoint sending events.",
        (413, _) => "The body is over 1 MiB: Stripe's events never are, so this was probably not Stripe.",
        (431, _) => "The headers are over 16 KiB: this was probably not Stripe.",
        (404, _) => "Nothing is served at that path: the webhook URL must be the one Privacy Desk shows.",
        (408, _) => "The request did not arrive in time: a slow or stalled client.",
        (503, _) => "The receiver was busy; Stripe retries on its own.",
        // The reason says it all.
        _ => return None,
    })
}
