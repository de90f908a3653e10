//! The erasure receipt for the data subject: what was erased, what is kept and why, as HTML
//! or JSON.

use std::path::Path;

use askama::Template;
use serde::Serialize;
use ts_rs::TS;

use super::erasure_row;
use super::plan::{Action, PlanItem};
use super::run::{load_state, result, RedactionJobOutcome};
use crate::audit::{self, Entry};
use crate::context::Context;
use crate::domain::settings::OrgProfile;
use crate::error::{Error, Result};
use crate::requests::Regime;
use crate::time::to_rfc3339;

#[derive(Debug, Clone, Serialize, TS)]
pub struct Receipt {
    pub request_id: i64,
    pub subject: String,
    pub regime: String,
    pub received_at: String,
    pub completed_at: String,
    pub controller: OrgProfile,
    pub erased: Vec<PlanItem>,
    pub retained: Vec<PlanItem>,
    pub stripe_customers_deleted: Vec<String>,
    pub stripe_redaction_jobs: Vec<RedactionJobOutcome>,
    pub records_retained: i64,
}

pub fn receipt(ctx: &Context, id: i64) -> Result<Receipt> {
    let r = erasure_row(ctx, id)?;
    let state = load_state(ctx, id)?
        .filter(|s| s.finished_at.is_some())
        .ok_or_else(|| {
            Error::Blocked(format!(
                "request {id} has not been erased yet: run `privacy-desk dsr erase {id} --yes` first"
            ))
        })?;
    let res = result(id, &state);
    Ok(Receipt {
        request_id: id,
        subject: r.subject_hash,
        regime: r.regime,
        received_at: to_rfc3339(r.received_at),
        completed_at: res.completed_at.clone().unwrap_or_default(),
        controller: crate::domain::settings::get(ctx)?.org,
        erased: state
            .plan
            .items
            .iter()
            .filter(|i| i.action == Action::Erase)
            .cloned()
            .collect(),
        retained: state
            .plan
            .items
            .iter()
            .filter(|i| i.action == Action::Retain)
            .cloned()
            .collect(),
        stripe_customers_deleted: res.stripe_customers_deleted,
        stripe_redaction_jobs: res.stripe_redaction_jobs,
        records_retained: state.records_retained,
    })
}

/// Writes the receipt: JSON when `out` ends in `.json`, else a readable HTML letter.
pub fn write_receipt(ctx: &Context, id: i64, out: &Path) -> Result<Receipt> {
    let rc = receipt(ctx, id)?;
    let body = if out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        serde_json::to_string_pretty(&rc).expect("JSON serialises")
    } else {
        receipt_html(&rc)
    };
    crate::files::write_private(out, |f| {
        std::io::Write::write_all(f, body.as_bytes())
            .map_err(|e| Error::Io(format!("cannot write {}: {e}", out.display())))
    })?;
    audit::record(
        ctx,
        Entry::new(audit::USER, "erasure.receipt_written")
            .request(id)
            .subject(&rc.subject),
    )?;
    Ok(rc)
}

/// The receipt as the subject reads it: `templates/erasure_receipt.html`.
#[derive(Template)]
#[template(path = "erasure_receipt.html")]
struct ReceiptPage<'a> {
    rc: &'a Receipt,
    org: &'a OrgProfile,
    controller: &'a str,
    /// The law's name; empty for a regime this build does not know.
    regime: &'static str,
    job_ids: Vec<&'a str>,
}

fn receipt_html(rc: &Receipt) -> String {
    let org = &rc.controller;
    ReceiptPage {
        rc,
        org,
        controller: if org.name.is_empty() {
            "the controller"
        } else {
            &org.name
        },
        regime: Regime::parse(&rc.regime).map(|r| r.label()).unwrap_or(""),
        job_ids: rc
            .stripe_redaction_jobs
            .iter()
            .map(|j| j.job_id.as_str())
            .collect(),
    }
    .render()
    .expect("the receipt template renders")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::erasure::FINANCIAL_BASIS;
    use crate::requests::hostile::{acme, assert_escaped, hostile_org, HOSTILE, HOSTILE_ESCAPED};

    fn item(target: &str, action: Action, reason: &str, basis: Option<&str>) -> PlanItem {
        PlanItem {
            target: target.into(),
            action,
            legal_basis: basis.map(Into::into),
            retain_until: basis.map(|_| "2036-12-31".into()),
            reason: reason.into(),
        }
    }

    fn sample(controller: OrgProfile) -> Receipt {
        Receipt {
            request_id: 7,
            subject: "0f3a".into(),
            regime: "gdpr".into(),
            received_at: "2026-01-02T03:04:05Z".into(),
            completed_at: "2026-01-20T10:00:00Z".into(),
            controller,
            erased: vec![
                item(
                    "local:profile",
                    Action::Erase,
                    "Name, email and address",
                    None,
                ),
                item(
                    "stripe:customer:cus_zelda0001",
                    Action::Erase,
                    "Stripe customer record",
                    None,
                ),
            ],
            retained: vec![item(
                "stripe:invoice:in_1",
                Action::Retain,
                "Invoice kept without personal data",
                Some(FINANCIAL_BASIS),
            )],
            stripe_customers_deleted: vec!["cus_zelda0001".into()],
            stripe_redaction_jobs: vec![RedactionJobOutcome {
                processor_id: 1,
                job_id: "rdj_1".into(),
                status: "succeeded".into(),
            }],
            records_retained: 1,
        }
    }

    #[test]
    fn receipt_says_what_was_erased_and_what_is_kept_and_why() {
        let html = receipt_html(&sample(acme()));
        for part in [
            "<!doctype html>",
            "<meta charset=\"utf-8\">",
            "<title>Erasure receipt — request 7</title>",
            "<h1>Confirmation of erasure</h1>",
            "<p>From: Acme Widgets GmbH, 1 Main St, Berlin, privacy@acme.example; Data Protection \
             Officer: Dana Prot dpo@acme.example</p>",
            "Your request reference: <b>#7</b> (GDPR (EU) 2016/679), received \
             2026-01-02T03:04:05Z, completed 2026-01-20T10:00:00Z.",
            "We have erased the personal data we held about you",
            "<tr><th>What</th><th>Details</th><th></th><th></th></tr>",
            "<tr><td>local:profile</td><td>Name, email and address</td><td></td><td></td></tr>",
            "<tr><td>stripe:customer:cus_zelda0001</td><td>Stripe customer record</td>",
            "<p>Stripe customer records deleted: cus_zelda0001</p>",
            "redacted at Stripe by redaction job(s): rdj_1. The payment records",
            "<tr><th>What</th><th>Why</th><th>Legal basis</th><th>Until</th></tr>",
            "<tr><td>stripe:invoice:in_1</td><td>Invoice kept without personal data</td><td>GDPR \
             Art. 17(3)(b)",
            "</td><td>2036-12-31</td></tr>",
            "You may lodge a complaint with a supervisory authority.",
            "</body>\n</html>",
        ] {
            assert!(html.contains(part), "{part:?} not in {html}");
        }
        let (erased, kept) = (html.find("<h2>Erased</h2>"), html.find("<h2>Kept</h2>"));
        assert!(erased.unwrap() < html.find("local:profile").unwrap());
        assert!(kept.unwrap() < html.find("stripe:invoice:in_1").unwrap());
    }

    #[test]
    fn receipt_leaves_out_what_is_not_set() {
        let mut rc = sample(OrgProfile::default());
        rc.stripe_customers_deleted.clear();
        rc.stripe_redaction_jobs.clear();
        rc.regime = "unknown".into();
        let html = receipt_html(&rc);
        assert!(html.contains("<p>From: the controller</p>"), "{html}");
        assert!(html.contains("<b>#7</b> (), received"), "{html}");
        assert!(html.contains("<p>Stripe customer records deleted: none</p>"));
        assert!(!html.contains("Data Protection Officer"));
        assert!(!html.contains("redaction job"));
    }

    #[test]
    fn hostile_values_come_out_escaped_in_the_receipt() {
        let org = hostile_org();
        let mut rc = sample(org);
        rc.received_at = HOSTILE.into();
        rc.completed_at = HOSTILE.into();
        rc.erased = vec![item(HOSTILE, Action::Erase, HOSTILE, None)];
        rc.retained = vec![PlanItem {
            retain_until: Some(HOSTILE.into()),
            ..item(HOSTILE, Action::Retain, HOSTILE, Some(HOSTILE))
        }];
        rc.stripe_customers_deleted = vec![HOSTILE.into()];
        rc.stripe_redaction_jobs[0].job_id = HOSTILE.into();
        let html = receipt_html(&rc);
        // name, address, email, DPO name and email, received, completed, 2 erased cells,
        // 4 kept cells, the customer, the job.
        assert_eq!(html.matches(HOSTILE_ESCAPED).count(), 15, "{html}");
        assert_escaped(&html, 3);
    }
}
