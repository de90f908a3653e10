//! The local step of a run (one transaction), the free-text scrubber, and the purge of
//! retained records whose retention ended.

use serde_json::json;

use super::plan::{gather, Gathered};
use super::run::RunState;
use super::{fault, is_financial, retain_until, FINANCIAL_BASIS};
use crate::audit::{self, Entry};
use crate::context::Context;
use crate::error::Result;
use crate::ingest::model::Minimised;
use crate::secrets::HashKey;
use crate::store::requests as q;
use crate::time::now_ms;

/// Step 3, in one transaction: financial records copied, pseudonymised, into
/// `retained_records`; every event about the subject deleted; the subject, its email history
/// and external ids deleted; requests keep the keyed hash only, their free text scrubbed.
pub(super) fn erase_local(
    ctx: &Context,
    key: &HashKey,
    r: &q::RequestRow,
    state: &mut RunState,
) -> Result<()> {
    let id = r.id;
    let entry = |action: &str| {
        Entry::new(audit::SYSTEM, action)
            .request(id)
            .subject(&r.subject_hash)
    };
    if !state.done("local") {
        // Link what is still pending first, so nothing about the subject waits unseen.
        ctx.db
            .write(|c| crate::ingest::link::process_pending(c, u32::MAX))?;
        let g = gather(ctx, r.email.as_deref(), state.subject_id)?;
        let years = state.years;
        let mut retained = Vec::new();
        for e in &g.events {
            let Ok(m) = serde_json::from_str::<Minimised>(&e.data) else {
                continue;
            };
            if !is_financial(&m.object) {
                continue;
            }
            retained.push(q::RetainedRow {
                request_id: Some(id),
                subject_hash: r.subject_hash.clone(),
                processor_id: Some(e.processor_id),
                event_id: e.event_id.clone(),
                event_type: e.event_type.clone(),
                object_id: e.object_id.clone(),
                customer_ref: e.customer_ref.clone(),
                occurred_at: e.occurred_at,
                fields: serde_json::to_string(&json!({
                    "object": m.object,
                    "fields": m.fields,
                }))
                .expect("JSON serialises"),
                legal_basis: FINANCIAL_BASIS.into(),
                retain_until: retain_until(e.occurred_at, years),
            });
        }
        let ids: Vec<i64> = g.events.iter().map(|e| e.id).collect();
        let scrub = scrubber(&g, r.email.as_deref(), "[erased]");
        // Counted as the plan counts them: financial events move to the retained records.
        state.events_deleted = (ids.len() - retained.len()) as i64;
        state.records_retained = retained.len() as i64;
        state.steps.push("local".into());
        let text = serde_json::to_string(&state).expect("state serialises");
        let (k, hash2) = (key.clone(), r.subject_hash.clone());
        let subject_id = g.subject.as_ref().map(|s| s.id);
        let e = entry("erasure.local_erased").details(json!({
            "events_deleted": ids.len() - retained.len(),
            "records_retained": retained.len(),
            "profile_deleted": subject_id.is_some(),
        }));
        ctx.db.write(move |c| {
            let now = now_ms();
            for rr in &retained {
                q::insert_retained(c, rr)?;
            }
            for eid in &ids {
                q::delete_event(c, *eid)?;
            }
            if let Some(sid) = subject_id {
                q::delete_subject(c, sid)?;
            }
            q::forget_email(c, &hash2, now)?;
            q::rewrite_free_text(c, &hash2, |t| scrub(t), now)?;
            crate::store::access_review::rewrite_free_text(c, &hash2, |t| scrub(t))?;
            q::save_run_state(c, id, &text, now)?;
            audit::append(c, &k, &e, now)?;
            Ok(())
        })?;
        fault("after-local");
    }
    Ok(())
}

/// Replaces each of the subject's email addresses and their name (whole, and each word of it
/// as a whole word, any case) by `replacement`: notes are free text and may name the person.
pub(super) fn scrubber(
    g: &Gathered,
    email: Option<&str>,
    replacement: &'static str,
) -> impl Fn(&str) -> String {
    let mut needles: Vec<String> = g.emails.iter().map(|e| e.email.clone()).collect();
    needles.extend(email.map(str::to_owned));
    let name = g.subject.as_ref().and_then(|s| s.name.clone());
    let mut alternatives: Vec<String> = needles.iter().map(|n| regex::escape(n)).collect();
    if let Some(name) = &name {
        alternatives.push(format!(r"\b{}\b", regex::escape(name.trim())));
        for word in name.split_whitespace().filter(|w| w.chars().count() >= 3) {
            alternatives.push(format!(r"\b{}\b", regex::escape(word)));
        }
    }
    // Longest first, so a whole email or name goes before its parts.
    alternatives.sort_by_key(|a| std::cmp::Reverse(a.len()));
    alternatives.retain(|a| !a.is_empty());
    let re = (!alternatives.is_empty())
        .then(|| regex::Regex::new(&format!("(?i){}", alternatives.join("|"))).ok())
        .flatten();
    move |text: &str| match &re {
        Some(re) => re.replace_all(text, replacement).into_owned(),
        None => text.to_owned(),
    }
}

pub fn purge_expired(ctx: &Context, now: i64) -> Result<usize> {
    let key = ctx.keychain.existing_hash_key()?;
    ctx.db.write(move |c| {
        let n = q::purge_retained(c, now)?;
        if let (true, Some(k)) = (n > 0, &key) {
            audit::append(
                c,
                k,
                &Entry::new(audit::SYSTEM, "retention.purged").details(json!({ "records": n })),
                now,
            )?;
        }
        Ok(n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::subjects as sq;

    #[test]
    fn notes_lose_the_email_and_the_name() {
        let g = Gathered {
            subject: Some(sq::SubjectRow {
                id: 1,
                email: "zoe.q@example.org".into(),
                name: Some("Zoë Quintanilla".into()),
                status: "active".into(),
                created_at: 0,
                activity_count: 0,
            }),
            emails: Vec::new(),
            customers: Vec::new(),
            events: Vec::new(),
        };
        let scrub = scrubber(&g, Some("zoe.q@example.org"), "[erased]");
        assert_eq!(
            scrub("Called ZOË QUINTANILLA; Zoë confirmed ZOE.Q@example.org. Quintanillas Ltd"),
            "Called [erased]; [erased] confirmed [erased]. Quintanillas Ltd"
        );
        assert_eq!(scrub("nothing here"), "nothing here");
    }
}
