//! Data subjects: the people whose personal data processors handle, found by any email
//! they have had.

use serde::Serialize;
use ts_rs::TS;

use crate::domain::activity::Activity;
use crate::error::{Error, Result};
use crate::ingest::model::normalise_email;
use crate::store::{subjects as q, Db};
use crate::time::to_rfc3339;

#[derive(Debug, Clone, Serialize, TS)]
pub struct Subject {
    pub id: i64,
    pub email: String,
    pub name: Option<String>,
    pub created_at: String,
    pub activity_count: i64,
    /// `active`, or `deleted_at_processor` after `customer.deleted`.
    pub status: String,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct SubjectDetail {
    #[serde(flatten)]
    pub subject: Subject,
    pub external_ids: Vec<q::ExternalId>,
    /// Every address, oldest replaced first, the current one last.
    pub emails: Vec<EmailHistory>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct EmailHistory {
    pub email: String,
    pub first_seen_at: String,
    pub replaced_at: Option<String>,
}

pub(crate) fn view(r: q::SubjectRow) -> Subject {
    Subject {
        id: r.id,
        email: r.email,
        name: r.name,
        created_at: to_rfc3339(r.created_at),
        activity_count: r.activity_count,
        status: r.status,
    }
}

pub fn list(db: &Db) -> Result<Vec<Subject>> {
    Ok(db.read(q::list)?.into_iter().map(view).collect())
}

/// One page of the subjects list, by email.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectListPage {
    pub rows: Vec<Subject>,
    /// Pass as `after` for the next page; `None` on the last one.
    pub next_cursor: Option<String>,
}

/// Up to `limit` subjects (1–1000) by email, after the email `after` (a previous page's
/// `next_cursor`). Its cost grows with the page, not with the number of subjects.
pub fn list_page(db: &Db, after: Option<&str>, limit: u32) -> Result<SubjectListPage> {
    let limit = limit.clamp(1, 1000);
    let rows: Vec<Subject> = db
        .read(|c| q::list_after(c, after, limit))?
        .into_iter()
        .map(view)
        .collect();
    let next_cursor = (rows.len() as u32 == limit)
        .then(|| rows.last().map(|s| s.email.clone()))
        .flatten();
    Ok(SubjectListPage { rows, next_cursor })
}

/// By current or earlier email, case-insensitively.
pub fn show(db: &Db, email: &str) -> Result<SubjectDetail> {
    let norm =
        normalise_email(email).ok_or_else(|| Error::invalid("that is not an email address"))?;
    let row = db.read(|c| q::find_by_email(c, &norm))?.ok_or_else(|| {
        Error::not_found("no data subject has that email: `privacy-desk subjects list` shows them")
    })?;
    detail(db, row)
}

/// A subject's page: the detail and its timeline (newest first).
#[derive(Debug, Clone, Serialize, TS)]
pub struct SubjectPage {
    #[serde(flatten)]
    pub detail: SubjectDetail,
    pub timeline: Vec<Activity>,
}

pub fn page(db: &Db, id: i64) -> Result<SubjectPage> {
    let row = db
        .read(|c| q::get(c, id))?
        .ok_or_else(|| Error::not_found(format!("no data subject with id {id}")))?;
    let email = row.email.clone();
    let detail = detail(db, row)?;
    let timeline = crate::domain::activity::list(
        db,
        &crate::domain::activity::ActivityQuery {
            subject: Some(email),
            limit: 1000,
            ..Default::default()
        },
    )?;
    Ok(SubjectPage { detail, timeline })
}

/// Subjects whose email (current or earlier) or name contains `text`; all when empty.
pub fn search(db: &Db, text: &str) -> Result<Vec<Subject>> {
    let rows = if text.trim().is_empty() {
        db.read(q::list)?
    } else {
        db.read(|c| q::search(c, text, 500))?
    };
    Ok(rows.into_iter().map(view).collect())
}

fn detail(db: &Db, row: q::SubjectRow) -> Result<SubjectDetail> {
    db.read(|c| {
        let external_ids = q::external_ids(c, row.id)?;
        let emails = q::emails(c, row.id)?
            .into_iter()
            .map(|e| EmailHistory {
                email: e.email,
                first_seen_at: to_rfc3339(e.first_seen_at),
                replaced_at: e.replaced_at.map(to_rfc3339),
            })
            .collect();
        Ok(SubjectDetail {
            subject: view(row),
            external_ids,
            emails,
        })
    })
}
