//! Thin events: their full payload fetched from Stripe (the event, then its related object)
//! and stored minimised.

use serde::Serialize;
use serde_json::{json, Value};

use super::{client, is_object_id, link_pending};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::store::stripe_sync as q;
use crate::stripe::client::StripeError;
use crate::stripe::event;
use crate::time::now_ms;

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct ThinReport {
    /// Thin events whose payload was fetched and stored.
    pub fetched: u64,
    /// Thin events whose related object Stripe no longer has (kept, with no subject data).
    pub missing: u64,
}

/// Fetches the full payload of thin events (`awaiting_fetch`): the event from
/// `/v2/core/events/{id}`, then its `related_object.url`; stores the minimised object.
pub fn fetch_thin_events(ctx: &Context, id: i64) -> Result<ThinReport> {
    let client = client(ctx, id)?;
    let db = &ctx.db;
    let mut report = ThinReport::default();
    loop {
        let rows = db.read(|c| q::awaiting_fetch(c, id, 100))?;
        if rows.is_empty() {
            break;
        }
        let mut progressed = false;
        for (row, evt, event_type) in rows {
            if !is_object_id(&evt, "evt_") {
                tracing::warn!(row, "a thin event's id is not a Stripe event id; skipped");
                continue;
            }
            let v = client.get(&format!("/v2/core/events/{evt}"), &[])?;
            let url = v
                .get("related_object")
                .and_then(|r| r.get("url"))
                .and_then(Value::as_str)
                .filter(|u| {
                    u.starts_with("/v1/")
                        && u.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"/_-".contains(&b))
                });
            let object = match url {
                Some(u) => match client.get(u, &[]) {
                    Ok(o) => Some(o),
                    Err(StripeError::NotFound { .. }) => None,
                    Err(e) => return Err(e.into()),
                },
                None => None,
            };
            let created = v
                .get("created")
                .and_then(Value::as_str)
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.timestamp());
            let (object_id, customer_ref, observed, data) = match &object {
                Some(obj) => {
                    let envelope = json!({
                        "id": evt, "object": "event", "type": event_type,
                        "created": created, "data": {"object": obj},
                    });
                    let body = serde_json::to_vec(&envelope).expect("JSON serialises");
                    let inc = event::parse(&body, now_ms()).map_err(|e| {
                        Error::Unavailable(format!("the fetched object of event {evt}: {e}"))
                    })?;
                    let mut d = inc.data;
                    d.fields.insert("fetched".into(), Value::Bool(true));
                    report.fetched += 1;
                    (
                        d.object_id.clone(),
                        d.customer_ref.clone(),
                        d.observed.join(","),
                        serde_json::to_string(&d).expect("minimised data serialises"),
                    )
                }
                None => {
                    report.missing += 1;
                    let d = json!({"object": "v2.core.event", "fields": {"fetched": false}});
                    (None, None, String::new(), d.to_string())
                }
            };
            progressed |= db.write(move |c| {
                q::set_fetched(
                    c,
                    row,
                    object_id.as_deref(),
                    customer_ref.as_deref(),
                    &observed,
                    &data,
                )
            })?;
        }
        if !progressed {
            break;
        }
    }
    link_pending(db)?;
    Ok(report)
}
