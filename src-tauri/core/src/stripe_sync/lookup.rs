//! Customer lookup: the customers that unlinked events name, fetched so those events link to a
//! data subject.

use serde::Serialize;
use serde_json::json;

use super::{client, import_envelope, is_object_id, link_pending, store_events, Counts};
use crate::context::Context;
use crate::error::Result;
use crate::store::{stripe_sync as q, Db};
use crate::stripe::client::{Client, StripeError};

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct LookupReport {
    /// Customers fetched from Stripe.
    pub looked_up: u64,
    /// Customers Stripe no longer has.
    pub missing: u64,
}

/// Fetches the customers that `unlinked` events name and that were never seen, so that those
/// events link to a data subject.
pub fn lookup_customers(ctx: &Context, id: i64) -> Result<LookupReport> {
    lookup_customers_with(&ctx.db, &client(ctx, id)?, id)
}

pub(super) fn lookup_customers_with(db: &Db, client: &Client, id: i64) -> Result<LookupReport> {
    let mut report = LookupReport::default();
    loop {
        let unknown = db.read(|c| q::unknown_customers(c, id, 100))?;
        let unknown: Vec<String> = unknown
            .into_iter()
            .filter(|c| is_object_id(c, "cus_"))
            .collect();
        if unknown.is_empty() {
            break;
        }
        let mut fetched = Vec::new();
        for cus in &unknown {
            match client.get(&format!("/v1/customers/{cus}"), &[]) {
                Ok(obj) => {
                    report.looked_up += 1;
                    fetched.extend(import_envelope(&obj));
                }
                Err(StripeError::NotFound { .. }) => {
                    report.missing += 1;
                    // Remember the miss (an import with no data), so it is not asked again.
                    fetched.extend(import_envelope(
                        &json!({"id": cus, "object": "customer", "deleted": true}),
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        let mut counts = Counts::default();
        store_events(db, None, id, &fetched, &mut counts)?;
        link_pending(db)?;
        if counts.new == 0 {
            break;
        }
    }
    Ok(report)
}
