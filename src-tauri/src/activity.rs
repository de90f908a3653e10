//! The Processing Activity Log: what each processor did with whose data, and when.

use serde::Serialize;

use crate::error::Result;
use crate::ingest::model::normalise_email;
use crate::store::{events, subjects, Db};
use crate::time::to_rfc3339;

/// A filter as the user writes it. All parts combine with AND.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pub source: Option<String>,
    /// `customer.*`: `*` is the only wildcard. A `stripe:` prefix sets the source.
    pub event_type: Option<String>,
    /// Current or earlier email of a data subject.
    pub subject_email: Option<String>,
    /// Unix ms, inclusive.
    pub since: Option<i64>,
    /// Unix ms, exclusive.
    pub until: Option<i64>,
    pub limit: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    pub id: i64,
    pub source: String,
    /// Namespaced: `stripe:customer.created`.
    pub event_type: String,
    pub event_id: String,
    pub occurred_at: String,
    pub received_at: String,
    /// The subject's email in effect when the event was linked.
    pub subject_email: Option<String>,
    pub status: String,
    pub processor_id: i64,
}

pub fn list(db: &Db, q: &Query) -> Result<Vec<Activity>> {
    let mut source = q.source.clone();
    let type_glob = q.event_type.as_deref().map(|t| {
        let t = match t.split_once(':') {
            Some((src, rest)) => {
                source.get_or_insert_with(|| src.to_owned());
                rest
            }
            None => t,
        };
        to_glob(t)
    });
    let subject_id = match &q.subject_email {
        Some(raw) => {
            let Some(email) = normalise_email(raw) else {
                return Ok(Vec::new());
            };
            match db.read(|c| subjects::find_by_email(c, &email))? {
                Some(s) => Some(s.id),
                None => return Ok(Vec::new()),
            }
        }
        None => None,
    };
    let filter = events::Filter {
        source,
        type_glob,
        subject_id,
        processor_id: None,
        since: q.since,
        until: q.until,
        limit: q.limit,
    };
    let rows = db.read(|c| events::list(c, &filter))?;
    Ok(rows
        .into_iter()
        .map(|r| Activity {
            event_type: format!("{}:{}", r.source, r.event_type),
            id: r.id,
            source: r.source,
            event_id: r.event_id,
            occurred_at: to_rfc3339(r.occurred_at),
            received_at: to_rfc3339(r.received_at),
            subject_email: r.subject_email,
            status: r.status,
            processor_id: r.processor_id,
        })
        .collect())
}

/// The user's glob (`*` only) as an SQLite GLOB: other GLOB metacharacters match literally.
fn to_glob(user: &str) -> String {
    let mut out = String::with_capacity(user.len());
    for ch in user.trim().chars() {
        match ch {
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::to_glob;

    #[test]
    fn only_star_is_a_wildcard() {
        assert_eq!(to_glob("customer.*"), "customer.*");
        assert_eq!(to_glob("a?[b]"), "a[?][[]b]");
    }
}
