//! Queries on `access_packages` and `access_withheld`: the access package built for a request,
//! its release, and what the officer withheld from it (see `crate::requests::access::review`).

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, Result};

/// Why a record, or a field of one, is withheld from an access package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(rename = "WithholdGround")]
pub enum Ground {
    /// It would disclose another person's personal data (GDPR Art. 15(4)).
    OtherPerson,
    /// It is covered by legal professional privilege.
    LegalPrivilege,
    /// Another reason, given in words.
    Other,
}

text_enum!(Ground {
    OtherPerson => "other_person",
    LegalPrivilege => "legal_privilege",
    Other => "other",
});

impl Ground {
    pub const ALL: [Ground; 3] = [Ground::OtherPerson, Ground::LegalPrivilege, Ground::Other];

    pub fn parse(s: &str) -> Result<Ground> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "other_person" => Ok(Ground::OtherPerson),
            "legal_privilege" => Ok(Ground::LegalPrivilege),
            "other" => Ok(Ground::Other),
            _ => Err(Error::invalid(
                "unknown ground for withholding: use other_person (another person's data), \
                 legal_privilege or other (with --text saying why)",
            )),
        }
    }
}

/// The package built last for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRow {
    pub request_id: i64,
    /// The .zip written by the build (the draft under review).
    pub path: String,
    pub sha256: String,
    pub built_at: i64,
    pub foreign_objects_dropped: i64,
    pub released_at: Option<i64>,
    pub released_path: Option<String>,
    pub released_sha256: Option<String>,
}

/// Records a new build of request `request_id`'s package: not released, whatever an earlier
/// one was.
pub(crate) fn set_built(
    conn: &Connection,
    request_id: i64,
    path: &str,
    sha256: &str,
    foreign_objects_dropped: i64,
    now: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO access_packages (request_id, path, sha256, built_at, foreign_objects_dropped)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (request_id) DO UPDATE SET path = ?2, sha256 = ?3, built_at = ?4,
             foreign_objects_dropped = ?5, released_at = NULL, released_path = NULL,
             released_sha256 = NULL",
        params![request_id, path, sha256, now, foreign_objects_dropped],
    )?;
    Ok(())
}

pub(crate) fn package(conn: &Connection, request_id: i64) -> Result<Option<PackageRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT request_id, path, sha256, built_at, foreign_objects_dropped, released_at,
                    released_path, released_sha256
             FROM access_packages WHERE request_id = ?1",
        )?
        .query_row([request_id], |r| {
            Ok(PackageRow {
                request_id: r.get(0)?,
                path: r.get(1)?,
                sha256: r.get(2)?,
                built_at: r.get(3)?,
                foreign_objects_dropped: r.get(4)?,
                released_at: r.get(5)?,
                released_path: r.get(6)?,
                released_sha256: r.get(7)?,
            })
        })
        .optional()?)
}

/// Marks the package released (only one not released yet); false when it was already.
pub(crate) fn set_released(
    conn: &Connection,
    request_id: i64,
    path: &str,
    sha256: &str,
    now: i64,
) -> Result<bool> {
    let n = conn.execute(
        "UPDATE access_packages SET released_at = ?2, released_path = ?3, released_sha256 = ?4
         WHERE request_id = ?1 AND released_at IS NULL",
        params![request_id, now, path, sha256],
    )?;
    Ok(n == 1)
}

/// A record, or one field of it, withheld.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithheldRow {
    pub record_id: String,
    pub field: Option<String>,
    pub ground: Ground,
    pub text: Option<String>,
    pub created_at: i64,
}

/// What is withheld from request `request_id`'s package, in the order it was decided.
pub(crate) fn withheld(conn: &Connection, request_id: i64) -> Result<Vec<WithheldRow>> {
    let rows = conn
        .prepare_cached(
            "SELECT record_id, field, ground, text, created_at FROM access_withheld
             WHERE request_id = ?1 ORDER BY id",
        )?
        .query_map([request_id], |r| {
            Ok(WithheldRow {
                record_id: r.get(0)?,
                field: r.get(1)?,
                ground: r.get(2)?,
                text: r.get(3)?,
                created_at: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Records a withholding; false when that record (or field) is withheld already.
pub(crate) fn insert_withheld(conn: &Connection, request_id: i64, w: &WithheldRow) -> Result<bool> {
    let n = conn.execute(
        "INSERT INTO access_withheld (request_id, record_id, field, ground, text, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
        params![
            request_id,
            w.record_id,
            w.field,
            w.ground,
            w.text,
            w.created_at
        ],
    )?;
    Ok(n == 1)
}

/// Takes a withholding back; the row it was, if there was one.
pub(crate) fn delete_withheld(
    conn: &Connection,
    request_id: i64,
    record_id: &str,
    field: Option<&str>,
) -> Result<Option<WithheldRow>> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM access_withheld
             WHERE request_id = ?1 AND record_id = ?2 AND ifnull(field, '') = ifnull(?3, '')
             RETURNING record_id, field, ground, text, created_at",
        )?
        .query_row(params![request_id, record_id, field], |r| {
            Ok(WithheldRow {
                record_id: r.get(0)?,
                field: r.get(1)?,
                ground: r.get(2)?,
                text: r.get(3)?,
                created_at: r.get(4)?,
            })
        })
        .optional()?)
}

/// Rewrites the reasons given for withholding from the packages of the subject `subject_hash`
/// (an erasure takes the subject's email and name out of free text).
pub(crate) fn rewrite_free_text(
    conn: &Connection,
    subject_hash: &str,
    f: impl Fn(&str) -> String,
) -> Result<usize> {
    let rows: Vec<(i64, String)> = conn
        .prepare_cached(
            "SELECT w.id, w.text FROM access_withheld w JOIN requests r ON r.id = w.request_id
             WHERE r.subject_hash = ?1 AND w.text IS NOT NULL",
        )?
        .query_map([subject_hash], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut changed = 0;
    for (id, text) in rows {
        let new = f(&text);
        if new != text {
            conn.execute(
                "UPDATE access_withheld SET text = ?2 WHERE id = ?1",
                params![id, new],
            )?;
            changed += 1;
        }
    }
    Ok(changed)
}
