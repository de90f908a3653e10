//! The erasure receipt for the data subject: what was erased, what is kept and why, as HTML
//! or JSON.

use std::path::Path;

use serde::Serialize;
use ts_rs::TS;

use super::erasure_row;
use super::plan::{Action, PlanItem};
use super::run::{load_state, result, RedactionJobOutcome};
use crate::audit::{self, Entry};
use crate::context::Context;
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
    pub controller: crate::domain::settings::OrgProfile,
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

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub(super) fn receipt_html(rc: &Receipt) -> String {
    let org = &rc.controller;
    let regime = Regime::parse(&rc.regime).map(|r| r.label()).unwrap_or("");
    let rows = |items: &[PlanItem]| {
        items
            .iter()
            .map(|i| {
                format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&i.target),
                    esc(&i.reason),
                    esc(i.legal_basis.as_deref().unwrap_or("")),
                    esc(i.retain_until.as_deref().unwrap_or(""))
                )
            })
            .collect::<String>()
    };
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Erasure receipt — request {id}</title></head><body>\
<h1>Confirmation of erasure</h1>\
<p>From: {name}{addr}{email}{dpo}</p>\
<p>Your request reference: <b>#{id}</b> ({regime}), received {received}, completed {completed}.</p>\
<p>We have erased the personal data we held about you, as listed below. Where the law obliges us \
to keep a record, we kept it without your name, email or address, and only until the date shown.</p>\
<h2>Erased</h2><table border=\"1\"><tr><th>What</th><th>Details</th><th></th><th></th></tr>{erased}</table>\
<p>Stripe customer records deleted: {stripe}</p>{jobs}\
<h2>Kept</h2><table border=\"1\"><tr><th>What</th><th>Why</th><th>Legal basis</th><th>Until</th></tr>{kept}</table>\
<p>You may lodge a complaint with a supervisory authority.</p></body></html>",
        id = rc.request_id,
        name = esc(if org.name.is_empty() { "the controller" } else { &org.name }),
        addr = if org.address.is_empty() { String::new() } else { format!(", {}", esc(&org.address)) },
        email = if org.email.is_empty() { String::new() } else { format!(", {}", esc(&org.email)) },
        dpo = if org.dpo_name.is_empty() && org.dpo_email.is_empty() {
            String::new()
        } else {
            format!("; Data Protection Officer: {} {}", esc(&org.dpo_name), esc(&org.dpo_email))
        },
        regime = esc(regime),
        received = esc(&rc.received_at),
        completed = esc(&rc.completed_at),
        erased = rows(&rc.erased),
        stripe = if rc.stripe_customers_deleted.is_empty() {
            "none".to_owned()
        } else {
            esc(&rc.stripe_customers_deleted.join(", "))
        },
        jobs = if rc.stripe_redaction_jobs.is_empty() {
            String::new()
        } else {
            format!(
                "<p>Personal data redacted at Stripe by redaction job(s): {}. The payment records \
                 stay at Stripe without your personal data.</p>",
                esc(&rc
                    .stripe_redaction_jobs
                    .iter()
                    .map(|j| j.job_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "))
            )
        },
        kept = rows(&rc.retained),
    )
}
