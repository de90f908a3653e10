//! "I resolved this at Stripe myself": a blocked item of the plan that the officer settled at
//! Stripe (an invoice voided, a subscription cancelled, a dispute closed, the customer deleted
//! in the Stripe dashboard while no API key is set here). Recorded in the audit trail
//! (`erasure.blocker_resolved`: the target and the officer's note, without the subject's email
//! or name); every later plan reads it ([`resolutions`]):
//! - a status blocker becomes `erase` ("resolved at Stripe by the user on DATE: …"), unless
//!   Stripe's live answer still gives the blocking status: then it stays blocked and says so;
//! - a customer blocked for want of an API key becomes `erase`, and the run records a manual
//!   step for it (`erasure.processor_manual_step`) instead of calling Stripe.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::erasure_row;
use super::plan::{compute_plan, plan, Action, Plan};
use super::run::{load_state, recompute};
use crate::audit::{self, Entry};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::requests::steps::{BLOCKER_RESOLVED, PLAN_REVIEWED};
use crate::requests::trail_reason;

/// What the officer recorded about a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Resolution {
    /// `YYYY-MM-DD` (UTC) of the record.
    pub(super) day: String,
    pub(super) note: String,
}

impl Resolution {
    /// The plan item's reason.
    pub(super) fn reason(&self) -> String {
        format!(
            "resolved at Stripe by the user on {}: {}",
            self.day, self.note
        )
    }
}

/// The targets of request `id` recorded as resolved at Stripe (the latest record of each).
pub(super) fn resolutions(ctx: &Context, id: i64) -> Result<BTreeMap<String, Resolution>> {
    let mut out = BTreeMap::new();
    for e in audit::list(ctx, Some(id))? {
        if e.action != BLOCKER_RESOLVED {
            continue;
        }
        if let Some(target) = e.details["target"].as_str() {
            out.insert(
                target.to_owned(),
                Resolution {
                    day: e.at.get(..10).unwrap_or(&e.at).to_owned(),
                    note: e.details["note"].as_str().unwrap_or_default().to_owned(),
                },
            );
        }
    }
    Ok(out)
}

/// Records that the officer resolved the blocked item `target` of request `id`'s erasure
/// plan at Stripe, with `note` (what they did), and returns the plan as it is now. Refused
/// for a target that is not blocked in the current plan.
pub fn resolve_blocker(ctx: &Context, id: i64, target: &str, note: &str) -> Result<Plan> {
    let r = erasure_row(ctx, id)?;
    if r.status.is_closed() {
        return Err(Error::Blocked(format!(
            "request {id} is {} already",
            r.status
        )));
    }
    let (target, note) = (target.trim(), note.trim());
    if note.is_empty() {
        return Err(Error::invalid(
            "say what you did at Stripe (--note), e.g. \"voided the invoice in the Stripe \
             dashboard\"",
        ));
    }
    let state = load_state(ctx, id)?;
    let current = match &state {
        Some(s) => s.plan.clone(),
        None => compute_plan(ctx, &r, &BTreeSet::new())?.plan,
    };
    let blocked_now = current
        .items
        .iter()
        .any(|i| i.target == target && i.action == Action::Blocked);
    // Resolved at Stripe before it was recorded here: Stripe's live answer no longer blocks the
    // item the officer was shown blocked. Their note is recorded all the same, and the plan
    // as it is now comes back.
    let was_shown_blocked = !blocked_now
        && state.is_none()
        && last_review_blocked(ctx, id)?.iter().any(|t| t == target);
    if !blocked_now && !was_shown_blocked {
        return Err(Error::invalid(format!(
            "{target} is not blocked in the erasure plan of request {id}: only a blocked item \
             can be recorded as resolved"
        )));
    }
    let note = trail_reason(ctx, &r, note)?;
    audit::record(
        ctx,
        Entry::new(audit::USER, BLOCKER_RESOLVED)
            .request(id)
            .subject(&r.subject_hash)
            .details(json!({ "target": target, "note": note })),
    )?;
    match state {
        // The plan computed now, with the resolution (and recorded as reviewed).
        None => plan(ctx, id),
        // A run that stopped on a new blocker: its plan is computed again and kept.
        Some(mut s) => {
            let key = ctx.keychain.hash_key()?;
            match recompute(ctx, &r, &key, &mut s) {
                Ok(()) | Err(Error::Blocked(_)) => Ok(s.plan),
                Err(e) => Err(e),
            }
        }
    }
}

/// The targets the last reviewed plan of request `id` had blocked.
fn last_review_blocked(ctx: &Context, id: i64) -> Result<Vec<String>> {
    let steps = audit::list(ctx, Some(id))?;
    Ok(steps
        .iter()
        .rev()
        .find(|e| e.action == PLAN_REVIEWED)
        .and_then(|e| e.details["blocked"].as_array())
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::super::{execute, plan};
    use super::*;
    use crate::requests::{create, verify_identity, Kind, NewRequest, Regime};

    const EMAIL: &str = "ines.ortega@example.org";

    /// A data dir with a Stripe processor without an API key and a subject known there as
    /// `cus_ines1`, with an open invoice: both from events, through parse → store → link.
    fn setup() -> (tempfile::TempDir, Context, i64) {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::open_in_memory_keychain(dir.path()).unwrap();
        let pid = crate::domain::processors::add_stripe(&ctx, None, None)
            .unwrap()
            .id;
        let bodies = [
            json!({"id": "evt_cus1", "object": "event", "type": "customer.created",
                "created": 1_760_000_000, "data": {"object": {"id": "cus_ines1",
                "object": "customer", "email": EMAIL, "name": "Inés Ortega"}}}),
            json!({"id": "evt_inv1", "object": "event", "type": "invoice.finalized",
                "created": 1_760_000_100, "data": {"object": {"id": "in_ines1",
                "object": "invoice", "status": "open", "customer": "cus_ines1",
                "currency": "eur", "total": 1200}}}),
        ];
        let rows: Vec<_> = bodies
            .iter()
            .map(|b| {
                let inc = crate::stripe::event::parse(b.to_string().as_bytes(), 0).unwrap();
                crate::ingest::row(pid, "stripe", inc, 0, None)
            })
            .collect();
        ctx.db
            .write(move |c| {
                for r in &rows {
                    crate::store::events::insert(c, r)?;
                }
                crate::ingest::link::process_pending(c, 100)?;
                Ok(())
            })
            .unwrap();
        let id = create(
            &ctx,
            NewRequest {
                kind: Kind::Erasure,
                email: EMAIL.into(),
                regime: Regime::Gdpr,
                received: None,
            },
        )
        .unwrap()
        .id;
        verify_identity(&ctx, id, "signed letter").unwrap();
        (dir, ctx, id)
    }

    fn action(p: &Plan, target: &str) -> Option<Action> {
        p.items
            .iter()
            .find(|i| i.target == target)
            .map(|i| i.action)
    }

    #[test]
    fn blocked_then_resolved_then_executed_as_a_manual_step() {
        let (_dir, ctx, id) = setup();
        let p = plan(&ctx, id).unwrap();
        assert!(p.blocked, "{p:#?}");
        assert_eq!(
            action(&p, "stripe:customer:cus_ines1"),
            Some(Action::Blocked)
        );
        assert_eq!(action(&p, "stripe:invoice:in_ines1"), Some(Action::Blocked));
        assert!(matches!(execute(&ctx, id), Err(Error::Blocked(_))));

        // A target that is not blocked cannot be resolved; nor can one without a note.
        let refused = resolve_blocker(&ctx, id, "local:profile", "nothing").unwrap_err();
        assert!(matches!(refused, Error::InvalidInput(_)), "{refused}");
        let refused = resolve_blocker(&ctx, id, "stripe:invoice:in_ines1", " ").unwrap_err();
        assert!(matches!(refused, Error::InvalidInput(_)), "{refused}");

        let p = resolve_blocker(
            &ctx,
            id,
            "stripe:invoice:in_ines1",
            "voided the invoice for Inés Ortega (ines.ortega@example.org)",
        )
        .unwrap();
        let inv = p
            .items
            .iter()
            .find(|i| i.target == "stripe:invoice:in_ines1")
            .unwrap();
        assert_eq!(inv.action, Action::Erase);
        assert!(
            inv.reason.starts_with("resolved at Stripe by the user on ")
                && inv.reason.contains("voided the invoice"),
            "{}",
            inv.reason
        );
        // The note keeps no personal data: not in the plan, not in the audit trail.
        assert!(
            !inv.reason.contains(EMAIL) && !inv.reason.contains("Ortega"),
            "{}",
            inv.reason
        );
        assert!(p.blocked, "the customer is still blocked");

        let p = resolve_blocker(
            &ctx,
            id,
            "stripe:customer:cus_ines1",
            "deleted the customer in the Stripe dashboard",
        )
        .unwrap();
        assert!(!p.blocked, "{p:#?}");
        assert_eq!(action(&p, "stripe:customer:cus_ines1"), Some(Action::Erase));

        let done = execute(&ctx, id).unwrap();
        assert_eq!(done.status, crate::requests::Status::Completed);
        assert!(done.stripe_customers_deleted.is_empty(), "{done:?}");
        let trail = audit::list(&ctx, Some(id)).unwrap();
        let manual = trail
            .iter()
            .find(|e| e.action == "erasure.processor_manual_step")
            .expect("a manual step");
        assert_eq!(manual.details["customer"], "cus_ines1");
        assert_eq!(manual.details["resolved_by_user"], true);
        let resolved: Vec<&str> = trail
            .iter()
            .filter(|e| e.action == BLOCKER_RESOLVED)
            .filter_map(|e| e.details["target"].as_str())
            .collect();
        assert_eq!(
            resolved,
            ["stripe:invoice:in_ines1", "stripe:customer:cus_ines1"]
        );
        let text = serde_json::to_string(&trail).unwrap();
        assert!(!text.contains(EMAIL) && !text.contains("Ortega"), "{text}");
        assert!(text.contains("[the person]"), "{text}");

        // Closed now: nothing more to resolve.
        let closed = resolve_blocker(&ctx, id, "stripe:customer:cus_ines1", "again").unwrap_err();
        assert!(matches!(closed, Error::Blocked(_)), "{closed}");
    }

    #[test]
    fn the_next_step_follows_the_review_and_the_resolutions() {
        use crate::requests::{next_step, StepKey};
        let (_dir, ctx, id) = setup();
        assert_eq!(next_step(&ctx, id).unwrap().key, StepKey::ReviewPlan);
        plan(&ctx, id).unwrap();
        assert_eq!(next_step(&ctx, id).unwrap().key, StepKey::ResolveBlocker);
        // Showing the same plan again adds nothing to the trail.
        let n = audit::list(&ctx, Some(id)).unwrap().len();
        plan(&ctx, id).unwrap();
        assert_eq!(audit::list(&ctx, Some(id)).unwrap().len(), n);

        resolve_blocker(&ctx, id, "stripe:invoice:in_ines1", "voided").unwrap();
        assert_eq!(next_step(&ctx, id).unwrap().key, StepKey::ResolveBlocker);
        resolve_blocker(&ctx, id, "stripe:customer:cus_ines1", "deleted").unwrap();
        assert_eq!(next_step(&ctx, id).unwrap().key, StepKey::RunErasure);
        execute(&ctx, id).unwrap();
        assert_eq!(next_step(&ctx, id).unwrap().key, StepKey::SendReceipt);
        let out = tempfile::tempdir().unwrap();
        super::super::write_receipt(&ctx, id, &out.path().join("receipt.html")).unwrap();
        assert_eq!(next_step(&ctx, id).unwrap().key, StepKey::None);
    }
}
