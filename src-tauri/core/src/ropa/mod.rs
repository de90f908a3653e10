//! Records of Processing Activities (GDPR Art. 30): processing activities (one per purpose,
//! linked to processors) with every Art. 30(1) field (a)–(g) and the extras of the ICO and CNIL
//! templates, the processor sheet, the compliance checklist, and the comparison of the
//! categories of personal data actually seen in events with those the RoPA declares.
//!
//! Privacy Desk proposes activities for Stripe (payments; accounting records) once a Stripe
//! processor exists; the DPO edits them like any other. Exports: [`export`].

mod defaults;
pub mod export;
mod export_pdf;
mod export_xlsx;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::context::Context;
use crate::domain::processors::ProcessorKind;
use crate::domain::settings::OrgProfile;
use crate::error::{Error, Result};
use crate::store::ropa as q;
use crate::time::{now_ms, to_rfc3339};

pub use export::{export, Format};

/// What the DPO writes about one processing activity. Lists are kept as entered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct ActivityFields {
    /// The business function (ICO): "Sales", "Finance".
    pub business_function: String,
    /// Art. 30(1)(b): the purpose of the processing.
    pub purpose: String,
    pub description: String,
    /// Art. 6(1) lawful basis, e.g. "Art. 6(1)(b) contract".
    pub lawful_basis: String,
    /// Art. 30(1)(a): joint controller's name and contact details, if any.
    pub joint_controller: String,
    /// Art. 30(1)(c): categories of data subjects.
    pub data_subjects: Vec<String>,
    /// Art. 30(1)(c): categories of personal data (keys such as `email`, or free text).
    pub data_categories: Vec<String>,
    /// Art. 9 special category data processed, and under which condition.
    pub special_categories: bool,
    pub special_categories_condition: String,
    /// Art. 10 criminal offence data processed.
    pub criminal_offence_data: bool,
    /// Where the personal data comes from (ICO, CNIL).
    pub source: String,
    /// Art. 30(1)(d): categories of recipients.
    pub recipients: Vec<String>,
    /// Art. 30(1)(e): third countries or international organisations data is transferred to.
    pub transfers: String,
    /// Art. 30(1)(e): safeguards for those transfers.
    pub transfer_safeguards: String,
    /// Art. 30(1)(f): time limits for erasure.
    pub retention: String,
    /// Art. 30(1)(g): technical and organisational security measures.
    pub security_measures: String,
    /// Link to the contract with the processor (DPA).
    pub dpa_link: String,
    pub dpia_required: bool,
    /// Where the DPIA is, or why none is needed.
    pub dpia_reference: String,
    /// `YYYY-MM-DD` of the last review, if any.
    pub last_review: Option<String>,
}

/// A processing activity as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ProcessingActivity {
    pub id: i64,
    /// `stripe:payments`, `stripe:accounting` for the activities Privacy Desk proposed.
    pub default_key: Option<String>,
    pub fields: ActivityFields,
    pub processor_ids: Vec<i64>,
    /// Names of the linked processors, for display.
    pub processors: Vec<String>,
    /// Categories of personal data seen in the linked processors' events.
    pub observed: Vec<String>,
    pub updated_at: String,
}

/// What the processor sheet says about one processor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct ProcessorDetails {
    /// What the processor does for the controller.
    pub service: String,
    /// The processor's legal entity and contact.
    pub contact: String,
    /// Where it processes the data.
    pub location: String,
    pub dpa_link: String,
    /// `YYYY-MM-DD` the DPA was executed, if it was.
    pub dpa_signed_on: Option<String>,
    pub transfer_safeguards: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RopaProcessor {
    pub id: i64,
    pub name: String,
    pub kind: ProcessorKind,
    pub details: ProcessorDetails,
    /// Purposes of the activities it takes part in.
    pub activities: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ChecklistItem {
    pub key: String,
    pub label: String,
    /// `YYYY-MM-DD` when it was done; `null` while open.
    pub done_on: Option<String>,
    /// A link or reference to the evidence.
    pub evidence: String,
}

/// A category of personal data seen in a processor's events that no activity linked to that
/// processor declares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Gap {
    pub processor_id: i64,
    pub processor: String,
    pub category: String,
    pub label: String,
    /// How many stored events carried it.
    pub events: i64,
    /// Purposes of the activities linked to the processor (empty: the processor is in no
    /// activity).
    pub activities: Vec<String>,
}

/// The whole record: what the Reports screen previews and every export writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Ropa {
    pub generated_at: String,
    pub controller: OrgProfile,
    pub activities: Vec<ProcessingActivity>,
    pub processors: Vec<RopaProcessor>,
    pub checklist: Vec<ChecklistItem>,
    pub gaps: Vec<Gap>,
}

/// Categories of personal data Privacy Desk observes in events, with their labels.
pub(crate) const CATEGORIES: &[(&str, &str)] = &[
    ("email", "Email address"),
    ("name", "Name"),
    ("postal_address", "Postal (billing) address"),
    ("shipping_address", "Shipping address"),
    ("phone", "Phone number"),
    (
        "payment_card",
        "Payment card details (brand, last 4 digits, expiry)",
    ),
    ("tax_id", "Tax identification number"),
    ("transaction_history", "Transaction and payment history"),
];

/// The label of a category key; free-text categories are their own label.
pub(crate) fn category_label(key: &str) -> String {
    CATEGORIES
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, l)| (*l).to_owned())
        .unwrap_or_else(|| key.to_owned())
}

/// A declared category as a key: known keys and labels map to the key, anything else is
/// compared trimmed and lower-cased.
fn category_key(declared: &str) -> String {
    let d = declared.trim();
    for (k, l) in CATEGORIES {
        if d.eq_ignore_ascii_case(k) || d.eq_ignore_ascii_case(l) {
            return (*k).to_owned();
        }
    }
    d.to_lowercase().replace([' ', '-'], "_")
}

/// The compliance checklist privacy officers follow when onboarding Stripe.
pub(crate) const CHECKLIST: &[(&str, &str)] = &[
    ("stripe_terms_reviewed", "Stripe terms of service reviewed"),
    ("dpa_executed", "Data processing agreement (DPA) executed"),
    ("stripe_in_ropa", "Stripe recorded in the RoPA"),
    ("retention_policy", "Retention policy documented"),
    ("webhook_minimisation", "Webhook data minimisation reviewed"),
    ("privacy_notice", "Privacy notice updated"),
];

/// Creates the proposed Stripe activities (once: a DPO who deletes one does not get it back)
/// and links every Stripe processor that is in no activity yet to them.
pub(crate) fn ensure_defaults(ctx: &Context) -> Result<()> {
    let needed = ctx.db.read(|c| {
        let unlinked = q::unlinked_processors(c, ProcessorKind::Stripe)?;
        Ok(!unlinked.is_empty())
    })?;
    if !needed {
        return Ok(());
    }
    ctx.db.write(|c| {
        let now = now_ms();
        let stripe = q::unlinked_processors(c, ProcessorKind::Stripe)?;
        if stripe.is_empty() {
            return Ok(());
        }
        let created = crate::store::settings::get(c, DEFAULTS_CREATED)?.is_some();
        if !created {
            for (key, fields) in defaults::stripe_activities() {
                if !q::default_exists(c, key)? {
                    let json = serde_json::to_string(&fields).expect("fields serialise");
                    q::insert_activity(c, Some(key), &json, now)?;
                }
            }
            crate::store::settings::set(c, DEFAULTS_CREATED, "stripe")?;
        }
        let details = serde_json::to_string(&defaults::stripe_processor()).expect("serialises");
        for p in stripe {
            for (key, _) in defaults::stripe_activities() {
                if let Some(a) = q::default_activity(c, key)? {
                    q::link(c, a, p)?;
                }
            }
            q::init_processor_details(c, p, &details, now)?;
        }
        Ok(())
    })
}

/// Settings key: the Stripe defaults were created (so deleting them is final).
const DEFAULTS_CREATED: &str = "ropa_defaults_created";

pub fn activities(ctx: &Context) -> Result<Vec<ProcessingActivity>> {
    Ok(report(ctx)?.activities)
}

/// The whole record, with observed categories and gaps.
pub fn report(ctx: &Context) -> Result<Ropa> {
    ensure_defaults(ctx)?;
    let org = crate::domain::settings::get(ctx)?.org;
    let procs = ctx.db.read(crate::store::processors::list)?;
    let (rows, details, checklist_rows, observed_rows) = ctx.db.read(|c| {
        Ok((
            q::activities(c)?,
            q::processor_details(c)?,
            q::checklist(c)?,
            q::observed(c)?,
        ))
    })?;
    // An activity may still name a removed processor: its name stays, marked removed.
    let removed = ctx.db.read(crate::store::processors::list_removed)?;
    let removed_names: Vec<(i64, String)> = removed
        .iter()
        .map(|p| (p.id, format!("{} (removed)", p.name)))
        .collect();
    let names: BTreeMap<i64, &str> = procs
        .iter()
        .map(|p| (p.id, p.name.as_str()))
        .chain(removed_names.iter().map(|(id, n)| (*id, n.as_str())))
        .collect();

    // Observed categories per processor, with event counts.
    let mut observed: BTreeMap<i64, BTreeMap<String, i64>> = BTreeMap::new();
    for (p, list, n) in observed_rows {
        for cat in list.split(',').filter(|s| !s.is_empty()) {
            *observed
                .entry(p)
                .or_default()
                .entry(cat.to_owned())
                .or_default() += n;
        }
    }

    let activities: Vec<ProcessingActivity> = rows
        .into_iter()
        .map(|r| {
            let fields: ActivityFields = serde_json::from_str(&r.fields).unwrap_or_default();
            let seen: BTreeSet<&String> = r
                .processor_ids
                .iter()
                .filter_map(|p| observed.get(p))
                .flat_map(|m| m.keys())
                .collect();
            ProcessingActivity {
                id: r.id,
                default_key: r.default_key,
                processors: r
                    .processor_ids
                    .iter()
                    .map(|p| names.get(p).copied().unwrap_or("?").to_owned())
                    .collect(),
                processor_ids: r.processor_ids,
                observed: seen.into_iter().cloned().collect(),
                updated_at: to_rfc3339(r.updated_at),
                fields,
            }
        })
        .collect();

    let details: BTreeMap<i64, ProcessorDetails> = details
        .into_iter()
        .map(|(id, j)| (id, serde_json::from_str(&j).unwrap_or_default()))
        .collect();
    let processors: Vec<RopaProcessor> = procs
        .iter()
        .map(|p| RopaProcessor {
            id: p.id,
            name: p.name.clone(),
            kind: p.kind,
            details: details.get(&p.id).cloned().unwrap_or_default(),
            activities: activities
                .iter()
                .filter(|a| a.processor_ids.contains(&p.id))
                .map(|a| a.fields.purpose.clone())
                .collect(),
        })
        .collect();

    let mut gaps = Vec::new();
    for (p, cats) in &observed {
        let linked: Vec<&ProcessingActivity> = activities
            .iter()
            .filter(|a| a.processor_ids.contains(p))
            .collect();
        let declared: BTreeSet<String> = linked
            .iter()
            .flat_map(|a| a.fields.data_categories.iter().map(|c| category_key(c)))
            .collect();
        for (cat, n) in cats {
            if !declared.contains(cat) {
                gaps.push(Gap {
                    processor_id: *p,
                    processor: names.get(p).copied().unwrap_or("?").to_owned(),
                    category: cat.clone(),
                    label: category_label(cat),
                    events: *n,
                    activities: linked.iter().map(|a| a.fields.purpose.clone()).collect(),
                });
            }
        }
    }

    let stripe_recorded = stripe_recorded_in(&processors);
    let checklist = CHECKLIST
        .iter()
        .map(|(key, label)| {
            let row = checklist_rows.iter().find(|(k, _, _)| k == key);
            let mut item = ChecklistItem {
                key: (*key).to_owned(),
                label: (*label).to_owned(),
                done_on: row.and_then(|r| r.1.clone()),
                evidence: row.map(|r| r.2.clone()).unwrap_or_default(),
            };
            // A fact of the RoPA itself, not a box to tick: done while every Stripe
            // processor is in an activity.
            if let (true, None, Some(evidence)) =
                (*key == "stripe_in_ropa", &item.done_on, &stripe_recorded)
            {
                item.done_on = Some(to_rfc3339(now_ms())[..10].to_owned());
                item.evidence = evidence.clone();
            }
            item
        })
        .collect();

    Ok(Ropa {
        generated_at: to_rfc3339(now_ms()),
        controller: org,
        activities,
        processors,
        checklist,
        gaps,
    })
}

/// When every Stripe processor is in at least one activity, the evidence of it ("Stripe in:
/// Payments, Customer records"); `None` while one is in none, or there is no Stripe processor.
fn stripe_recorded_in(processors: &[RopaProcessor]) -> Option<String> {
    let stripe: Vec<&RopaProcessor> = processors
        .iter()
        .filter(|p| p.kind == ProcessorKind::Stripe)
        .collect();
    if stripe.is_empty() || stripe.iter().any(|p| p.activities.is_empty()) {
        return None;
    }
    Some(
        stripe
            .iter()
            .map(|p| format!("{} in: {}", p.name, p.activities.join(", ")))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// Creates (`id` = `None`) or replaces a processing activity and its processor links.
pub fn save_activity(
    ctx: &Context,
    id: Option<i64>,
    fields: ActivityFields,
    processor_ids: Vec<i64>,
) -> Result<ProcessingActivity> {
    let fields = clean(fields)?;
    ensure_defaults(ctx)?;
    let known: BTreeSet<i64> = ctx
        .db
        .read(crate::store::processors::list)?
        .iter()
        .map(|p| p.id)
        .collect();
    if let Some(p) = processor_ids.iter().find(|p| !known.contains(p)) {
        return Err(Error::invalid(format!(
            "no processor with id {p}: `privacy-desk processor list` shows them"
        )));
    }
    let json = serde_json::to_string(&fields).expect("fields serialise");
    let saved = ctx.db.write(move |c| {
        let now = now_ms();
        let id = match id {
            Some(id) => {
                if !q::update_activity(c, id, &json, now)? {
                    return Ok(None);
                }
                id
            }
            None => q::insert_activity(c, None, &json, now)?,
        };
        q::set_links(c, id, &processor_ids)?;
        Ok(Some(id))
    })?;
    let id = saved.ok_or_else(|| not_found(id.unwrap_or_default()))?;
    activities(ctx)?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| not_found(id))
}

pub fn delete_activity(ctx: &Context, id: i64) -> Result<()> {
    if ctx.db.write(move |c| q::delete_activity(c, id))? {
        Ok(())
    } else {
        Err(not_found(id))
    }
}

fn not_found(id: i64) -> Error {
    Error::not_found(format!(
        "no processing activity with id {id}: `privacy-desk ropa show` lists them"
    ))
}

fn clean(mut f: ActivityFields) -> Result<ActivityFields> {
    f.purpose = f.purpose.trim().to_owned();
    if f.purpose.is_empty() {
        return Err(Error::invalid(
            "a processing activity needs a purpose (Art. 30(1)(b))",
        ));
    }
    for list in [
        &mut f.data_subjects,
        &mut f.data_categories,
        &mut f.recipients,
    ] {
        *list = list
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
    }
    f.last_review = check_date(f.last_review, "last review")?;
    Ok(f)
}

/// `None` for empty; otherwise a valid `YYYY-MM-DD`.
fn check_date(d: Option<String>, what: &str) -> Result<Option<String>> {
    match d.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(|_| Some(s.to_owned()))
            .map_err(|_| Error::invalid(format!("the {what} date must be YYYY-MM-DD"))),
    }
}

/// Records the processor sheet's details for one processor.
pub fn save_processor_details(
    ctx: &Context,
    processor_id: i64,
    mut details: ProcessorDetails,
) -> Result<RopaProcessor> {
    if ctx
        .db
        .read(|c| crate::store::processors::get(c, processor_id))?
        .is_none()
    {
        return Err(Error::not_found(format!(
            "no processor with id {processor_id}: `privacy-desk processor list` shows them"
        )));
    }
    details.dpa_signed_on = check_date(details.dpa_signed_on, "DPA signature")?;
    let json = serde_json::to_string(&details).expect("details serialise");
    ctx.db
        .write(move |c| q::set_processor_details(c, processor_id, &json, now_ms()))?;
    report(ctx)?
        .processors
        .into_iter()
        .find(|p| p.id == processor_id)
        .ok_or_else(|| Error::not_found(format!("no processor with id {processor_id}")))
}

/// Marks a checklist step done on `done_on` (or open again with `None`) with its evidence.
pub fn set_checklist(
    ctx: &Context,
    key: &str,
    done_on: Option<String>,
    evidence: &str,
) -> Result<Vec<ChecklistItem>> {
    if !CHECKLIST.iter().any(|(k, _)| *k == key) {
        let keys: Vec<&str> = CHECKLIST.iter().map(|(k, _)| *k).collect();
        return Err(Error::invalid(format!(
            "unknown checklist step '{key}': use one of {}",
            keys.join(", ")
        )));
    }
    let done_on = check_date(done_on, "checklist")?;
    let (key, evidence) = (key.to_owned(), evidence.trim().to_owned());
    ctx.db
        .write(move |c| q::set_checklist(c, &key, done_on.as_deref(), &evidence, now_ms()))?;
    Ok(report(ctx)?.checklist)
}

#[cfg(test)]
mod tests;
