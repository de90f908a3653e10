//! Ingestion: a verified, minimised event in → a durable row in the Processing Activity Log
//! → (asynchronously, after the commit) linked to a data subject by [`link`].
//!
//! The receiver, and later the Stripe catch-up, hand events here; both go through
//! [`StoreJob`], so dedupe and durability rules are the same whatever the path.

pub mod link;
pub mod model;

use crate::error::{Error, Result};
use crate::store::{self, deliveries, events, Connection, Db};
use model::Incoming;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Newly stored.
    Accepted,
    /// This processor's event id was stored before; nothing changed.
    Duplicate,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Duplicate => "duplicate",
        }
    }
}

/// The row to store for `inc`, received now from processor `processor_id` (`source` is
/// `stripe` or a webhook processor's name).
pub fn row(processor_id: i64, source: &str, inc: Incoming, received_at: i64) -> events::NewEvent {
    let d = &inc.data;
    events::NewEvent {
        processor_id,
        source: source.to_owned(),
        event_id: inc.event_id,
        event_type: inc.event_type,
        occurred_at: inc.occurred_at,
        received_at,
        livemode: inc.livemode,
        status: if inc.thin {
            events::status::AWAITING_FETCH
        } else {
            events::status::PENDING
        },
        object_id: d.object_id.clone(),
        customer_ref: d.customer_ref.clone(),
        observed: d.observed.join(","),
        data: serde_json::to_string(d).expect("minimised data serialises"),
    }
}

fn store_row(conn: &Connection, row: &events::NewEvent) -> Result<Outcome> {
    // An erased subject's personal data must not come back with a later event.
    let suppressed = link::suppressed_row(conn, row)?;
    let row = suppressed.as_ref().unwrap_or(row);
    Ok(if events::insert(conn, row)? {
        Outcome::Accepted
    } else {
        Outcome::Duplicate
    })
}

/// A write job storing one event; `done` runs after the commit with the outcome.
/// Many of these share one transaction (group commit).
pub struct StoreJob<F: FnOnce(Result<Outcome>) + Send> {
    row: events::NewEvent,
    /// Record the delivery (the receiver's 200) in the same transaction as the event.
    log_delivery: bool,
    outcome: Option<Result<Outcome>>,
    done: Option<F>,
}

impl<F: FnOnce(Result<Outcome>) + Send + 'static> StoreJob<F> {
    pub fn new(row: events::NewEvent, done: F) -> Box<Self> {
        Box::new(StoreJob {
            row,
            log_delivery: false,
            outcome: None,
            done: Some(done),
        })
    }

    /// Also records the delivery in the deliveries log, in the event's own transaction (one
    /// write job per webhook instead of two).
    pub fn with_delivery_log(mut self: Box<Self>) -> Box<Self> {
        self.log_delivery = true;
        self
    }
}

impl<F: FnOnce(Result<Outcome>) + Send> store::Job for StoreJob<F> {
    fn apply(&mut self, conn: &Connection) -> bool {
        let r = store_row(conn, &self.row);
        let ok = r.is_ok();
        if let (Ok(outcome), true) = (&r, self.log_delivery) {
            let delivery = deliveries::DeliveryRow {
                received_at: self.row.received_at,
                status_code: 200,
                outcome: outcome.as_str().to_owned(),
                reason: None,
                event_id: Some(self.row.event_id.clone()),
                processor_id: Some(self.row.processor_id),
            };
            // The log is for troubleshooting: failing to write it must not lose the event.
            if let Err(e) = deliveries::insert(conn, &delivery) {
                tracing::warn!(error = %e, "recording a delivery failed");
            }
        }
        self.outcome = Some(r);
        ok
    }

    fn finish(mut self: Box<Self>, committed: Result<()>) {
        let outcome = match committed {
            Ok(()) => self
                .outcome
                .take()
                .unwrap_or_else(|| Err(Error::Unavailable("the event was not stored".into()))),
            Err(e) => Err(e),
        };
        if let Some(done) = self.done.take() {
            done(outcome);
        }
    }
}

/// Stores one event and waits for the commit (catch-up, backfill, tests).
pub fn store_blocking(db: &Db, row: events::NewEvent) -> Result<Outcome> {
    db.write(move |conn| store_row(conn, &row))
}
