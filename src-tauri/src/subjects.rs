//! Data subjects: the people whose personal data processors handle, found by any email
//! they have had.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::ingest::model::normalise_email;
use crate::store::{subjects as q, Db};
use crate::time::to_rfc3339;

#[derive(Debug, Clone, Serialize)]
pub struct Subject {
    pub id: i64,
    pub email: String,
    pub name: Option<String>,
    pub created_at: String,
    pub activity_count: i64,
    /// `active`, or `deleted_at_processor` after `customer.deleted`.
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubjectDetail {
    #[serde(flatten)]
    pub subject: Subject,
    pub external_ids: Vec<q::ExternalId>,
    /// Every address, oldest replaced first, the current one last.
    pub emails: Vec<EmailHistory>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmailHistory {
    pub email: String,
    pub first_seen_at: String,
    pub replaced_at: Option<String>,
}

fn view(r: q::SubjectRow) -> Subject {
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

/// By current or earlier email, case-insensitively.
pub fn show(db: &Db, email: &str) -> Result<SubjectDetail> {
    let norm =
        normalise_email(email).ok_or_else(|| Error::invalid("that is not an email address"))?;
    db.read(|c| {
        let row = q::find_by_email(c, &norm)?.ok_or_else(|| {
            Error::not_found(
                "no data subject has that email: `privacy-desk subjects list` shows them",
            )
        })?;
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
