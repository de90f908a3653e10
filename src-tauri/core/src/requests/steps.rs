//! The step a request waits for next: the one home of this rule. It is computed from the
//! request's state and its audit entries (identity verified? package built? the erasure plan
//! reviewed, blocked, resolved? the erasure run, the receipt?) and comes with every request
//! page; the window shows it as the page's one primary button, `dsr show` prints it.
//!
//! - Access (and portability): verify identity → build the package → send it (marking it
//!   sent answers the request).
//! - Erasure: verify identity → review the plan → (resolve what blocks it) → run the erasure
//!   (the run answers the request once nothing is left) → send the receipt.
//! - Rectification (tracked only): verify identity → mark answered.
//!
//! Completing a request whose next step does not answer it ([`StepKey::answers`]) is closing
//! it early: `requests::complete` then asks for the reason.

use serde::Serialize;
use ts_rs::TS;

use crate::audit::AuditEntry;
use crate::store::requests::{Kind, RequestRow, Status};

/// The steps a request goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StepKey {
    VerifyIdentity,
    BuildPackage,
    /// Review the built package (withhold what others' rights require) and release it.
    ReviewPackage,
    SendPackage,
    ReviewPlan,
    RunErasure,
    ResolveBlocker,
    SendReceipt,
    MarkAnswered,
    /// Nothing is due: the request is answered or rejected.
    None,
}

impl StepKey {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKey::VerifyIdentity => "verify_identity",
            StepKey::BuildPackage => "build_package",
            StepKey::ReviewPackage => "review_package",
            StepKey::SendPackage => "send_package",
            StepKey::ReviewPlan => "review_plan",
            StepKey::RunErasure => "run_erasure",
            StepKey::ResolveBlocker => "resolve_blocker",
            StepKey::SendReceipt => "send_receipt",
            StepKey::MarkAnswered => "mark_answered",
            StepKey::None => "none",
        }
    }

    /// Doing this step answers the request: completing the request then is not closing it
    /// early, and needs no reason.
    pub fn answers(self) -> bool {
        matches!(
            self,
            StepKey::MarkAnswered | StepKey::SendPackage | StepKey::SendReceipt
        )
    }

    /// The words on the step's button.
    pub fn label(self) -> &'static str {
        match self {
            StepKey::VerifyIdentity => "Verify identity",
            StepKey::BuildPackage => "Build package",
            StepKey::ReviewPackage => "Review and release",
            StepKey::SendPackage => "Mark package sent",
            StepKey::ReviewPlan => "Review plan",
            StepKey::RunErasure => "Erase…",
            StepKey::ResolveBlocker => "Resolve blocked items",
            StepKey::SendReceipt => "Save receipt",
            StepKey::MarkAnswered => "Mark answered",
            StepKey::None => "Nothing to do",
        }
    }
}

/// The step due now, with the words to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct NextStep {
    pub key: StepKey,
    /// The words on its button.
    pub label: String,
    /// Why this step is due, in a sentence.
    pub why: String,
}

fn step(key: StepKey, why: &str) -> NextStep {
    NextStep {
        key,
        label: key.label().to_owned(),
        why: why.to_owned(),
    }
}

/// An erasure run as the next step sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunFacts {
    /// The run completed (nothing of the subject is left).
    pub finished: bool,
    /// Its last plan has a blocked item (a resumed run found a new blocker).
    pub blocked: bool,
}

/// The last review of an erasure plan (before a run started).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Review {
    /// The targets the reviewed plan had blocked.
    pub blocked: Vec<String>,
    /// The targets recorded as resolved at Stripe since that review.
    pub resolved_since: Vec<String>,
}

/// What the next step is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub kind: Kind,
    pub status: Status,
    /// The subject was erased (by this request or another one).
    pub erased: bool,
    pub identity_verified: bool,
    /// An access package was built (`access.package_created`).
    pub package_built: bool,
    /// The last package built was reviewed and released (`access.released` after the last
    /// `access.package_created`: a package built again is reviewed again).
    pub package_released: bool,
    /// The erasure run, once one started.
    pub run: Option<RunFacts>,
    /// The last plan review (`erasure.plan_reviewed`).
    pub review: Option<Review>,
    /// The erasure receipt was written (`erasure.receipt_written`).
    pub receipt_written: bool,
}

/// Audit actions the next step reads.
pub(crate) const PACKAGE_CREATED: &str = "access.package_created";
pub(crate) const PACKAGE_RELEASED: &str = "access.released";
pub(crate) const PLAN_REVIEWED: &str = "erasure.plan_reviewed";
pub(crate) const BLOCKER_RESOLVED: &str = "erasure.blocker_resolved";
pub(crate) const RECEIPT_WRITTEN: &str = "erasure.receipt_written";

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The facts of request `r` from its audit entries `steps` (in order) and its erasure run.
pub(crate) fn facts(r: &RequestRow, steps: &[AuditEntry], run: Option<RunFacts>) -> Facts {
    let did = |action: &str| steps.iter().any(|s| s.action == action);
    let review = steps
        .iter()
        .rposition(|s| s.action == PLAN_REVIEWED)
        .map(|at| Review {
            blocked: strings(&steps[at].details["blocked"]),
            resolved_since: steps[at + 1..]
                .iter()
                .filter(|s| s.action == BLOCKER_RESOLVED)
                .filter_map(|s| s.details["target"].as_str().map(str::to_owned))
                .collect(),
        });
    Facts {
        kind: r.kind,
        status: r.status,
        erased: r.email.is_none(),
        identity_verified: r.identity_verified_at.is_some(),
        package_built: did(PACKAGE_CREATED),
        package_released: {
            let last = |action: &str| steps.iter().rposition(|s| s.action == action);
            matches!((last(PACKAGE_CREATED), last(PACKAGE_RELEASED)), (Some(b), Some(r)) if r > b)
        },
        run,
        review,
        receipt_written: did(RECEIPT_WRITTEN),
    }
}

/// The step due now.
pub fn next_step(f: &Facts) -> NextStep {
    match f.status {
        Status::Rejected => return step(StepKey::None, "The request was rejected."),
        Status::Completed => {
            let erased_here = f.kind == Kind::Erasure && f.run.is_some_and(|r| r.finished);
            return if erased_here && !f.receipt_written {
                step(
                    StepKey::SendReceipt,
                    "The erasure is done: save the receipt and send it to the person.",
                )
            } else {
                step(StepKey::None, "The request is answered.")
            };
        }
        Status::Received | Status::IdentityVerified | Status::InProgress => {}
    }
    match f.kind {
        Kind::Access | Kind::Portability => access_step(f),
        Kind::Erasure => erasure_step(f),
        Kind::Rectification if !f.identity_verified => verify(
            "Confirm the requester is the person the data is about before anything is changed.",
        ),
        Kind::Rectification => step(
            StepKey::MarkAnswered,
            "Correct the data where it is held, tell the person, then mark the request answered.",
        ),
    }
}

fn verify(why: &str) -> NextStep {
    step(StepKey::VerifyIdentity, why)
}

fn access_step(f: &Facts) -> NextStep {
    if f.erased {
        return step(
            StepKey::MarkAnswered,
            "The person's data was erased, so nothing is held to put in a package: tell them \
             so, then mark the request answered.",
        );
    }
    if f.package_built && !f.package_released {
        return step(
            StepKey::ReviewPackage,
            "The package is built: check every record, withhold what would reveal another \
             person's data or is privileged, then release it.",
        );
    }
    if f.package_built {
        return step(
            StepKey::SendPackage,
            "The package is released: send it to the person, then mark it sent. That answers \
             the request.",
        );
    }
    if !f.identity_verified {
        return verify(
            "Confirm the requester is the person the data is about before their data is \
             collected and sent.",
        );
    }
    step(
        StepKey::BuildPackage,
        "Collect everything held about the person into the access package.",
    )
}

fn erasure_step(f: &Facts) -> NextStep {
    match f.run {
        Some(RunFacts { finished: true, .. }) if !f.receipt_written => {
            return step(
                StepKey::SendReceipt,
                "The erasure is done: save the receipt and send it to the person.",
            )
        }
        Some(RunFacts { finished: true, .. }) => {
            return step(
                StepKey::MarkAnswered,
                "The erasure is done and its receipt saved: mark the request answered.",
            )
        }
        Some(RunFacts { blocked: true, .. }) => {
            return step(
                StepKey::ResolveBlocker,
                "The erasure stopped: something at Stripe blocks it now (see the blocked \
                 items). Resolve it at Stripe and record what you did, then run the erasure \
                 again.",
            )
        }
        Some(_) => {
            return step(
                StepKey::RunErasure,
                "The erasure started but did not finish: run it again; it goes on where it \
                 stopped.",
            )
        }
        None => {}
    }
    if !f.identity_verified {
        return verify(
            "Confirm the requester is the person the data is about before anything is erased.",
        );
    }
    let Some(review) = &f.review else {
        return step(
            StepKey::ReviewPlan,
            "See what will be erased and what must be kept before anything is deleted.",
        );
    };
    if review.blocked.is_empty() {
        return step(
            StepKey::RunErasure,
            "The plan is ready and nothing blocks it: erase the data.",
        );
    }
    if review
        .blocked
        .iter()
        .any(|t| !review.resolved_since.contains(t))
    {
        return step(
            StepKey::ResolveBlocker,
            "Something at Stripe blocks the erasure (see the blocked items): resolve it at \
             Stripe and record what you did, or wait and review the plan again.",
        );
    }
    step(
        StepKey::ReviewPlan,
        "The blocked items are recorded as resolved: review the plan again before anything is \
         deleted.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts(kind: Kind) -> Facts {
        Facts {
            kind,
            status: Status::Received,
            erased: false,
            identity_verified: false,
            package_built: false,
            package_released: false,
            run: None,
            review: None,
            receipt_written: false,
        }
    }

    fn key(f: &Facts) -> StepKey {
        next_step(f).key
    }

    fn review(blocked: &[&str], resolved: &[&str]) -> Option<Review> {
        Some(Review {
            blocked: blocked.iter().map(|s| s.to_string()).collect(),
            resolved_since: resolved.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn access_goes_verify_build_send() {
        let mut f = facts(Kind::Access);
        assert_eq!(key(&f), StepKey::VerifyIdentity);
        f.identity_verified = true;
        f.status = Status::IdentityVerified;
        assert_eq!(key(&f), StepKey::BuildPackage);
        f.package_built = true;
        f.status = Status::InProgress;
        assert_eq!(key(&f), StepKey::ReviewPackage);
        assert!(
            !StepKey::ReviewPackage.answers(),
            "sending an unreviewed package is early"
        );
        f.package_released = true;
        assert_eq!(key(&f), StepKey::SendPackage);
        assert!(StepKey::SendPackage.answers());
        f.status = Status::Completed;
        assert_eq!(key(&f), StepKey::None);
    }

    /// A package built without verification (with an override): sending it is what is due.
    #[test]
    fn a_package_built_unverified_is_sent_next() {
        let mut f = facts(Kind::Portability);
        f.package_built = true;
        f.package_released = true;
        assert_eq!(key(&f), StepKey::SendPackage);
    }

    #[test]
    fn an_erased_subjects_access_request_is_answered_that_nothing_is_held() {
        let mut f = facts(Kind::Access);
        f.erased = true;
        let s = next_step(&f);
        assert_eq!(s.key, StepKey::MarkAnswered);
        assert!(s.why.contains("nothing is held"), "{}", s.why);
    }

    #[test]
    fn erasure_goes_verify_review_run_receipt() {
        let mut f = facts(Kind::Erasure);
        assert_eq!(key(&f), StepKey::VerifyIdentity);
        f.identity_verified = true;
        assert_eq!(key(&f), StepKey::ReviewPlan);
        f.review = review(&[], &[]);
        assert_eq!(key(&f), StepKey::RunErasure);
        assert!(!StepKey::RunErasure.answers());
        // The run answers the request; the receipt is what is left.
        f.run = Some(RunFacts {
            finished: true,
            blocked: false,
        });
        f.status = Status::Completed;
        assert_eq!(key(&f), StepKey::SendReceipt);
        f.receipt_written = true;
        assert_eq!(key(&f), StepKey::None);
    }

    #[test]
    fn a_finished_run_on_an_open_request_is_marked_answered_after_the_receipt() {
        let mut f = facts(Kind::Erasure);
        f.status = Status::InProgress;
        f.run = Some(RunFacts {
            finished: true,
            blocked: false,
        });
        assert_eq!(key(&f), StepKey::SendReceipt);
        f.receipt_written = true;
        assert_eq!(key(&f), StepKey::MarkAnswered);
    }

    #[test]
    fn a_blocked_plan_waits_for_its_blockers_then_for_a_new_review() {
        let mut f = facts(Kind::Erasure);
        f.identity_verified = true;
        f.review = review(&["stripe:invoice:in_1", "stripe:customer:cus_1"], &[]);
        assert_eq!(key(&f), StepKey::ResolveBlocker);
        f.review = review(
            &["stripe:invoice:in_1", "stripe:customer:cus_1"],
            &["stripe:invoice:in_1"],
        );
        assert_eq!(key(&f), StepKey::ResolveBlocker, "one is still blocked");
        f.review = review(
            &["stripe:invoice:in_1", "stripe:customer:cus_1"],
            &["stripe:customer:cus_1", "stripe:invoice:in_1"],
        );
        assert_eq!(key(&f), StepKey::ReviewPlan);
        f.review = review(&[], &[]);
        assert_eq!(key(&f), StepKey::RunErasure);
    }

    #[test]
    fn a_started_run_is_resumed_or_unblocked_first() {
        let mut f = facts(Kind::Erasure);
        // Started from the command line without a verification: finishing it comes first.
        f.run = Some(RunFacts {
            finished: false,
            blocked: false,
        });
        f.status = Status::InProgress;
        assert_eq!(key(&f), StepKey::RunErasure);
        f.run = Some(RunFacts {
            finished: false,
            blocked: true,
        });
        assert_eq!(key(&f), StepKey::ResolveBlocker);
    }

    #[test]
    fn rectification_goes_verify_then_answer() {
        let mut f = facts(Kind::Rectification);
        assert_eq!(key(&f), StepKey::VerifyIdentity);
        f.identity_verified = true;
        assert_eq!(key(&f), StepKey::MarkAnswered);
        assert!(StepKey::MarkAnswered.answers());
    }

    #[test]
    fn closed_requests_have_nothing_due() {
        for kind in [Kind::Access, Kind::Erasure, Kind::Rectification] {
            let mut f = facts(kind);
            f.status = Status::Rejected;
            assert_eq!(key(&f), StepKey::None);
            // Closed early (no run): nothing to send.
            f.status = Status::Completed;
            assert_eq!(key(&f), StepKey::None);
        }
    }

    fn entry(id: i64, action: &str, details: serde_json::Value) -> AuditEntry {
        AuditEntry {
            id,
            at: "2026-03-01T00:00:00Z".into(),
            actor: "user".into(),
            action: action.into(),
            request_id: Some(1),
            subject: None,
            details,
            hash: String::new(),
        }
    }

    #[test]
    fn facts_come_from_the_audit_entries() {
        let row = RequestRow {
            id: 1,
            kind: Kind::Erasure,
            email: Some("a@example.com".into()),
            subject_hash: "sh_1".into(),
            regime: "gdpr".into(),
            received_at: 0,
            due_at: 0,
            extended_at: None,
            extension_reason: None,
            status: Status::IdentityVerified,
            identity_method: Some("reply".into()),
            identity_verified_at: Some(1),
            notes: String::new(),
            completed_at: None,
            created_at: 0,
            updated_at: 0,
        };
        // A release counts for the package built before it; a package built again is
        // reviewed again.
        let access = RequestRow {
            kind: Kind::Access,
            ..row.clone()
        };
        let mut built = vec![entry(1, PACKAGE_CREATED, json!({}))];
        assert!(!super::facts(&access, &built, None).package_released);
        built.push(entry(2, PACKAGE_RELEASED, json!({})));
        assert!(super::facts(&access, &built, None).package_released);
        built.push(entry(3, PACKAGE_CREATED, json!({})));
        let f = super::facts(&access, &built, None);
        assert!(f.package_built && !f.package_released);
        assert_eq!(key(&f), StepKey::ReviewPackage);

        let t = "stripe:invoice:in_1";
        let steps = vec![
            entry(1, "request.created", json!({})),
            entry(2, PLAN_REVIEWED, json!({"blocked": [t]})),
            entry(3, BLOCKER_RESOLVED, json!({"target": t})),
        ];
        let f = super::facts(&row, &steps, None);
        assert_eq!(f.review, review(&[t], &[t]));
        assert_eq!(key(&f), StepKey::ReviewPlan);
        // Reviewed again after the resolution: a resolution before it does not count.
        let mut later = steps.clone();
        later.push(entry(4, PLAN_REVIEWED, json!({"blocked": [t]})));
        let f = super::facts(&row, &later, None);
        assert_eq!(f.review, review(&[t], &[]));
        assert_eq!(key(&f), StepKey::ResolveBlocker);
        later.push(entry(5, PLAN_REVIEWED, json!({"blocked": []})));
        assert_eq!(key(&super::facts(&row, &later, None)), StepKey::RunErasure);
        later.push(entry(6, RECEIPT_WRITTEN, json!({})));
        assert!(super::facts(&row, &later, None).receipt_written);
    }

    #[test]
    fn keys_serialise_as_their_names() {
        for k in [
            StepKey::VerifyIdentity,
            StepKey::BuildPackage,
            StepKey::ReviewPackage,
            StepKey::SendPackage,
            StepKey::ReviewPlan,
            StepKey::RunErasure,
            StepKey::ResolveBlocker,
            StepKey::SendReceipt,
            StepKey::MarkAnswered,
            StepKey::None,
        ] {
            assert_eq!(serde_json::to_value(k).unwrap(), json!(k.as_str()));
        }
    }
}
