//! The Stripe API workflows, shared by the CLI and the desktop app, one file per workflow:
//! the restricted key and its permission check ([`keys`]), webhook registration
//! ([`webhooks`]), catch-up after downtime and its background loop ([`catch_up`]), backfill
//! with resumable cursors ([`backfill`]), customer lookup ([`lookup`]), thin-event fetch
//! ([`thin_events`]) and the processor's erasure method ([`erasure_method`]). This file holds
//! what they share: the processor and its client, and storing fetched events. Network calls go
//! through [`crate::stripe::client`]; events go through the same ingestion path as webhooks
//! ([`ingest::row`] + [`ingest::StoreJob`], dedupe on the event id); SQL is in
//! [`crate::store::stripe_sync`].
//!
//! Objects fetched from the API (backfill, customer lookup) are stored as synthetic events
//! `import_<object id>` of type `<object>.imported`, so they are minimised, deduplicated and
//! linked exactly like webhook events.
//!
//! All functions here block on the network: call them from `spawn_blocking` in async code.

use std::sync::mpsc;

use serde::Serialize;
use serde_json::{json, Value};

use crate::context::Context;
use crate::domain::processors::ProcessorKind;
use crate::error::{Error, Result};
use crate::ingest::{self, link, Outcome};
use crate::secrets::{HashKey, SecretKind};
use crate::store::{processors as pq, stripe_sync as q, Db};
use crate::stripe::client::Client;
use crate::stripe::event;
use crate::time::now_ms;

mod backfill;
mod catch_up;
mod erasure_method;
mod keys;
mod lookup;
mod thin_events;
mod webhooks;

pub use backfill::{
    backfill, parse_resources, BackfillProgress, BackfillReport, ResourceReport, RESOURCES,
};
pub use catch_up::{
    catch_up, catch_up_all, catch_up_with, last_catch_up, CatchUpStatus, CATCHUP_MARGIN_MS,
    MAX_LOOKBACK_MS,
};
pub use erasure_method::{erasure_method, set_erasure_method, ErasureMethod};
pub use keys::{check, set_key, Check, KeySet, Permission, Workflow, SECRET_KEY_WARNING};
pub use lookup::{lookup_customers, LookupReport};
pub use thin_events::{fetch_thin_events, ThinReport};
pub use webhooks::{
    register_webhook, remove_processor, selected_events, unregister_webhook,
    update_registered_urls, Registration, Removed, SECRET_MISSING,
};

/// The events a Stripe processor subscribes to unless its config lists `events` (Stripe allows
/// at most 20 `types[]` in one Events API call: keep it at 20 or fewer).
pub const DEFAULT_EVENTS: &[&str] = &[
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "charge.succeeded",
    "charge.failed",
    "charge.refunded",
    "charge.dispute.created",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_failed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "checkout.session.completed",
    "refund.created",
    "setup_intent.succeeded",
    "payment_method.attached",
];

fn stripe_processor(ctx: &Context, id: i64) -> Result<pq::ProcessorRow> {
    let row = ctx.db.read(|c| pq::get(c, id))?.ok_or_else(|| {
        Error::not_found(format!(
            "no processor with id {id}: `privacy-desk processor list` shows them"
        ))
    })?;
    if row.kind != ProcessorKind::Stripe {
        return Err(Error::invalid(format!(
            "processor {id} is not a Stripe processor"
        )));
    }
    Ok(row)
}

/// The API client for a processor, with its key from the keychain.
pub fn client(ctx: &Context, id: i64) -> Result<Client> {
    stripe_processor(ctx, id)?;
    let key = ctx.keychain.get(id, SecretKind::ApiKey)?.ok_or_else(|| {
        Error::not_found(format!(
            "processor {id} has no Stripe API key: add a restricted key (`rk_…`) on its page \
             (Processors → the processor → Restricted API key), or with \
             `privacy-desk stripe set-key {id}` (on stdin)"
        ))
    })?;
    Client::new(key)
}

// ---------------------------------------------------------------------------------------------
// Storing fetched events

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct Counts {
    pub fetched: u64,
    pub new: u64,
    pub duplicates: u64,
}

/// Stores Stripe event JSON values through the ingestion path; one group commit per call.
/// `replay_key`: for Stripe's own events (catch-up), which keep their ids known after they
/// are deleted; synthetic `import_…` events (backfill, lookups) are fetches of the current
/// state the user asked for, not deliveries, and go without.
fn store_events(
    db: &Db,
    replay_key: Option<&HashKey>,
    processor_id: i64,
    events: &[Value],
    counts: &mut Counts,
) -> Result<()> {
    let now = now_ms();
    let (tx, rx) = mpsc::channel();
    let mut submitted = 0usize;
    for ev in events {
        counts.fetched += 1;
        let body = serde_json::to_vec(ev).expect("JSON serialises");
        let inc = match event::parse(&body, now) {
            Ok(i) => i,
            Err(e) => {
                let id = ev.get("id").and_then(Value::as_str).unwrap_or("?");
                tracing::warn!(event = id, error = %e, "skipping an event from the Stripe API");
                continue;
            }
        };
        let row = ingest::row(processor_id, "stripe", inc, now, replay_key);
        let tx = tx.clone();
        db.submit(ingest::StoreJob::new(row, move |r| {
            let _ = tx.send(r);
        }))?;
        submitted += 1;
    }
    drop(tx);
    for _ in 0..submitted {
        let r = rx
            .recv()
            .map_err(|_| Error::Unavailable("the database writer stopped".into()))?;
        match r? {
            Outcome::Accepted => counts.new += 1,
            Outcome::Duplicate => counts.duplicates += 1,
        }
    }
    Ok(())
}

/// Links everything pending (what the receiver's linker thread does, run inline).
pub fn link_pending(db: &Db) -> Result<()> {
    while db.write(|c| link::process_pending(c, 500))? > 0 {}
    Ok(())
}

/// A synthetic event for an API object: `import_<id>`, type `<object>.imported`.
fn import_envelope(obj: &Value) -> Option<Value> {
    let id = obj.get("id")?.as_str()?;
    let kind = obj.get("object")?.as_str()?;
    Some(json!({
        "id": format!("{}{id}", q::IMPORT_PREFIX),
        "object": "event",
        "type": format!("{kind}.imported"),
        "created": obj.get("created").cloned().unwrap_or(Value::Null),
        "livemode": obj.get("livemode").cloned().unwrap_or(Value::Null),
        "data": {"object": obj},
    }))
}

/// A Stripe customer id that is safe to put into a URL path (what a lookup fetches).
pub(crate) fn is_customer_id(s: &str) -> bool {
    is_object_id(s, "cus_")
}

/// An id that is safe to put into a URL path: `prefix_` then letters, digits, `_`.
fn is_object_id(s: &str, prefix: &str) -> bool {
    s.starts_with(prefix)
        && s.len() <= 255
        && s.len() > prefix.len()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod fake;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_are_the_prefix_then_letters_digits_and_underscores() {
        assert!(is_object_id("cus_NffrFeUfNV2Hib", "cus_"));
        assert!(is_object_id("evt_1_a", "evt_"));
        assert!(is_object_id(&format!("cus_{}", "a".repeat(251)), "cus_"));
        assert!(!is_object_id(&format!("cus_{}", "a".repeat(252)), "cus_"));
        for bad in [
            "",
            "cus_",
            "cus",
            "evt_1",
            "cus_a/b",
            "cus_a?x=1",
            "cus_a b",
            "cus_..",
            "cus_é",
            "cus_a%2F",
        ] {
            assert!(!is_object_id(bad, "cus_"), "{bad:?}");
        }
    }

    #[test]
    fn an_api_object_becomes_an_import_event() {
        let obj = json!({"id": "cus_1", "object": "customer", "created": 1_700_000_000,
                         "livemode": false, "email": "a@example.com"});
        let e = import_envelope(&obj).unwrap();
        assert_eq!(e["id"], "import_cus_1");
        assert_eq!(e["object"], "event");
        assert_eq!(e["type"], "customer.imported");
        assert_eq!(e["created"], 1_700_000_000);
        assert_eq!(e["livemode"], false);
        assert_eq!(e["data"]["object"], obj);

        let e = import_envelope(&json!({"id": "ch_1", "object": "charge"})).unwrap();
        assert_eq!(e["type"], "charge.imported");
        assert_eq!(
            (&e["created"], &e["livemode"]),
            (&Value::Null, &Value::Null)
        );

        for bad in [
            json!({"object": "customer"}),
            json!({"id": "cus_1"}),
            json!({"id": 1, "object": "customer"}),
            json!({"id": "cus_1", "object": null}),
            json!("cus_1"),
        ] {
            assert!(import_envelope(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn stored_events_count_as_new_then_duplicate_and_unparsable_ones_are_skipped() {
        let (_tmp, db, id) = fake::db_with_processor();
        let mut events: Vec<Value> = [
            json!({"id": "cus_1", "object": "customer", "created": 1_700_000_000,
                   "email": "a@example.com"}),
            json!({"id": "cus_2", "object": "customer", "created": 1_700_000_001}),
        ]
        .iter()
        .filter_map(import_envelope)
        .collect();
        events.push(json!({"id": "evt_no_type"}));
        let mut first = Counts::default();
        store_events(&db, None, id, &events, &mut first).unwrap();
        assert_eq!((first.fetched, first.new, first.duplicates), (3, 2, 0));
        let mut again = Counts::default();
        store_events(&db, None, id, &events, &mut again).unwrap();
        assert_eq!((again.fetched, again.new, again.duplicates), (3, 0, 2));
    }
}
