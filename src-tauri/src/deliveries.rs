//! Deliveries: every request the receiver answered, for troubleshooting.

use serde::Serialize;

use crate::error::Result;
use crate::store::{deliveries as q, Db};
use crate::time::to_rfc3339;

#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub received_at: String,
    pub status_code: u16,
    pub outcome: String,
    pub reason: Option<String>,
    pub event_id: Option<String>,
    pub processor_id: Option<i64>,
}

pub fn list(db: &Db, limit: u32) -> Result<Vec<Delivery>> {
    Ok(db
        .read(|c| q::list(c, limit))?
        .into_iter()
        .map(|d| Delivery {
            received_at: to_rfc3339(d.received_at),
            status_code: d.status_code,
            outcome: d.outcome,
            reason: d.reason,
            event_id: d.event_id,
            processor_id: d.processor_id,
        })
        .collect())
}
