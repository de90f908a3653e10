//! The audit trail: every user action and workflow step on data subject requests, appended to
//! a hash chain. Each entry's `hash` is an HMAC (key in the OS keychain) over its own fields and
//! the previous entry's hash; the head (last id and hash) is also kept in the settings table.
//! So an edited, inserted or deleted row is found by [`verify`] even when the database
//! triggers that forbid UPDATE/DELETE were dropped first, and the chain cannot be recomputed
//! from the database file alone.
//!
//! Entries never hold personal data: a subject is named by its keyed hash.

use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::secrets::HashKey;
use crate::store::{audit as q, settings, Connection};
use crate::time::{now_ms, to_rfc3339};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const HEAD: &str = "audit_head";

/// Who did it: the person using the app, or the app itself (a workflow step).
pub(crate) const USER: &str = "user";
pub(crate) const SYSTEM: &str = "system";

/// An entry to append.
#[derive(Debug, Clone)]
pub struct Entry {
    pub actor: &'static str,
    pub action: String,
    pub request_id: Option<i64>,
    /// The subject's keyed hash (`sh_…`), never an email.
    pub subject: Option<String>,
    /// Ids, counts, statuses, and the reasons the officer gave for a decision with the
    /// subject's email and name taken out (`requests::trail_reason`): no personal data.
    pub details: Value,
}

impl Entry {
    pub fn new(actor: &'static str, action: &str) -> Entry {
        Entry {
            actor,
            action: action.to_owned(),
            request_id: None,
            subject: None,
            details: Value::Object(Default::default()),
        }
    }

    pub fn request(mut self, id: i64) -> Entry {
        self.request_id = Some(id);
        self
    }

    pub fn subject(mut self, hash: &str) -> Entry {
        self.subject = Some(hash.to_owned());
        self
    }

    pub fn details(mut self, details: Value) -> Entry {
        self.details = details;
        self
    }
}

fn message(row: &q::AuditRow) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!([
        row.id,
        row.at,
        row.actor,
        row.action,
        row.request_id,
        row.subject,
        row.details,
        row.prev_hash
    ]))
    .expect("JSON serialises")
}

/// Appends `e` inside the caller's transaction (so the entry commits with the change it
/// records). Returns the entry's id.
pub(crate) fn append(conn: &Connection, key: &HashKey, e: &Entry, now: i64) -> Result<i64> {
    let last = q::last(conn)?;
    let (id, prev_hash) = match &last {
        Some(r) => (r.id + 1, r.hash.clone()),
        None => (1, GENESIS.to_owned()),
    };
    let mut row = q::AuditRow {
        id,
        at: now,
        actor: e.actor.to_owned(),
        action: e.action.clone(),
        request_id: e.request_id,
        subject: e.subject.clone(),
        details: serde_json::to_string(&e.details).expect("JSON serialises"),
        prev_hash,
        hash: String::new(),
    };
    row.hash = key.audit(&message(&row));
    q::insert(conn, &row)?;
    settings::set(conn, HEAD, &format!("{id}:{}", row.hash))?;
    Ok(id)
}

/// Appends one entry in a transaction of its own.
pub fn record(ctx: &Context, e: Entry) -> Result<i64> {
    let key = ctx.keychain.hash_key()?;
    ctx.db.write(move |c| append(c, &key, &e, now_ms()))
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub request_id: Option<i64>,
    /// The subject's keyed hash.
    pub subject: Option<String>,
    #[ts(type = "Record<string, unknown>")]
    pub details: Value,
    pub hash: String,
}

/// The trail in order, or only one request's entries.
pub fn list(ctx: &Context, request_id: Option<i64>) -> Result<Vec<AuditEntry>> {
    Ok(ctx
        .db
        .read(|c| q::list(c, request_id))?
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            at: to_rfc3339(r.at),
            actor: r.actor,
            action: r.action,
            request_id: r.request_id,
            subject: r.subject,
            details: serde_json::from_str(&r.details).unwrap_or(Value::Null),
            hash: r.hash,
        })
        .collect())
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct AuditCheck {
    pub ok: bool,
    pub entries: i64,
    /// The id of the first entry that was edited, inserted or removed.
    pub first_broken: Option<i64>,
    pub problem: Option<String>,
}

/// Checks the whole chain.
pub fn verify(ctx: &Context) -> Result<AuditCheck> {
    let rows = ctx.db.read(|c| q::list(c, None))?;
    let head = ctx.db.read(|c| settings::get(c, HEAD))?;
    if rows.is_empty() && head.is_none() {
        return Ok(AuditCheck {
            ok: true,
            entries: 0,
            first_broken: None,
            problem: None,
        });
    }
    let key = ctx.keychain.existing_hash_key()?.ok_or_else(|| {
        Error::Keychain(
            "the audit trail's key is not in this keychain: verify on the machine and user \
             account that wrote it"
                .into(),
        )
    })?;
    Ok(check(&rows, head.as_deref(), &key))
}

/// The chain check proper (pure: rows in id order, the stored head).
pub fn check(rows: &[q::AuditRow], head: Option<&str>, key: &HashKey) -> AuditCheck {
    let broken = |id: i64, problem: String| AuditCheck {
        ok: false,
        entries: rows.len() as i64,
        first_broken: Some(id),
        problem: Some(problem),
    };
    let mut prev = GENESIS.to_owned();
    for (expected_id, r) in (1..).zip(rows) {
        if r.id != expected_id {
            return broken(
                expected_id,
                format!(
                    "entry {expected_id} was removed (the next entry is {})",
                    r.id
                ),
            );
        }
        if r.prev_hash != prev {
            return broken(
                r.id,
                format!(
                    "entry {} does not follow the entry before it: it was inserted or replaced",
                    r.id
                ),
            );
        }
        if key.audit(&message(r)) != r.hash {
            return broken(r.id, format!("entry {} was edited", r.id));
        }
        prev = r.hash.clone();
    }
    let last = rows.last().map(|r| (r.id, r.hash.as_str()));
    let stored = head.and_then(|h| {
        let (id, hash) = h.split_once(':')?;
        Some((id.parse::<i64>().ok()?, hash))
    });
    match (stored, last) {
        (Some(s), Some(l)) if s == l => {}
        (Some((id, _)), l) if id > l.map(|x| x.0).unwrap_or(0) => {
            let from = l.map(|x| x.0).unwrap_or(0) + 1;
            return broken(
                from,
                format!("entries {from} to {id} were removed from the end of the trail"),
            );
        }
        (Some(_), Some((id, _))) => {
            return broken(
                id,
                format!("entry {id} does not match the recorded head of the trail"),
            );
        }
        (None, Some(_)) => {
            return broken(1, "the recorded head of the trail was removed".into());
        }
        _ => {}
    }
    AuditCheck {
        ok: true,
        entries: rows.len() as i64,
        first_broken: None,
        problem: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Db;

    fn trail(n: usize) -> (tempfile::TempDir, Db, HashKey) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let key = HashKey::from_bytes(b"test key");
        for i in 0..n {
            let k = key.clone();
            db.write(move |c| {
                append(
                    c,
                    &k,
                    &Entry::new(USER, "test.step").details(serde_json::json!({ "i": i })),
                    1000 + i as i64,
                )
            })
            .unwrap();
        }
        (dir, db, key)
    }

    fn run(db: &Db, key: &HashKey) -> AuditCheck {
        let rows = db.read(|c| q::list(c, None)).unwrap();
        let head = db.read(|c| settings::get(c, HEAD)).unwrap();
        check(&rows, head.as_deref(), key)
    }

    #[test]
    fn an_intact_chain_verifies_and_tampering_is_named() {
        let (_d, db, key) = trail(5);
        assert!(run(&db, &key).ok);
        // Triggers stop accidents...
        assert!(db
            .write(|c| Ok(c.execute("DELETE FROM audit_log WHERE id = 3", [])?))
            .is_err());
        // ...but not someone who drops them first.
        db.write(|c| {
            c.execute_batch(
                "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;
                 UPDATE audit_log SET details = '{\"i\":9}' WHERE id = 3;",
            )?;
            Ok(())
        })
        .unwrap();
        let r = run(&db, &key);
        assert_eq!((r.ok, r.first_broken), (false, Some(3)), "{r:?}");
    }

    #[test]
    fn deleted_rows_are_named_in_the_middle_and_at_the_end() {
        let (_d, db, key) = trail(5);
        db.write(|c| {
            c.execute_batch(
                "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE id = 2",
            )?;
            Ok(())
        })
        .unwrap();
        assert_eq!(run(&db, &key).first_broken, Some(2));

        let (_d, db, key) = trail(5);
        db.write(|c| {
            c.execute_batch(
                "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE id >= 4",
            )?;
            Ok(())
        })
        .unwrap();
        assert_eq!(run(&db, &key).first_broken, Some(4));
    }
}
