//! Schema migrations: `migrations/NNNN_*.sql`, embedded, applied in order on open.
//! The version lives in `PRAGMA user_version`; each step runs in its own transaction.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// Every migration, in order. Version N is the state after the N-th script.
pub(crate) const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_core",
        include_str!("../../../../migrations/0001_core.sql"),
    ),
    (
        "0002_deliveries",
        include_str!("../../../../migrations/0002_deliveries.sql"),
    ),
    (
        "0003_app_queries",
        include_str!("../../../../migrations/0003_app_queries.sql"),
    ),
    (
        "0004_stripe_sync",
        include_str!("../../../../migrations/0004_stripe_sync.sql"),
    ),
    (
        "0005_ropa",
        include_str!("../../../../migrations/0005_ropa.sql"),
    ),
    (
        "0006_requests",
        include_str!("../../../../migrations/0006_requests.sql"),
    ),
    (
        "0007_reminders",
        include_str!("../../../../migrations/0007_reminders.sql"),
    ),
    (
        "0008_lean_deliveries",
        include_str!("../../../../migrations/0008_lean_deliveries.sql"),
    ),
    (
        "0009_partial_link_indexes",
        include_str!("../../../../migrations/0009_partial_link_indexes.sql"),
    ),
    (
        "0010_install_id",
        include_str!("../../../../migrations/0010_install_id.sql"),
    ),
    (
        "0011_replay_cache",
        include_str!("../../../../migrations/0011_replay_cache.sql"),
    ),
    (
        "0012_jobs",
        include_str!("../../../../migrations/0012_jobs.sql"),
    ),
    (
        "0013_processor_removed",
        include_str!("../../../../migrations/0013_processor_removed.sql"),
    ),
    (
        "0014_access_review",
        include_str!("../../../../migrations/0014_access_review.sql"),
    ),
    (
        "0015_scale",
        include_str!("../../../../migrations/0015_scale.sql"),
    ),
    (
        "0016_backups",
        include_str!("../../../../migrations/0016_backups.sql"),
    ),
    (
        "0017_compressed_payloads",
        include_str!("../../../../migrations/0017_compressed_payloads.sql"),
    ),
];

/// What a migration needs that SQL cannot give, run after its script in the same transaction.
fn after_script(version: u32, conn: &Connection) -> Result<()> {
    match version {
        // The install id comes from the OS random number generator.
        10 => super::install::create(
            conn,
            &super::install::new_install_id()?,
            crate::time::now_ms(),
        ),
        _ => Ok(()),
    }
}

/// The schema version this build writes.
pub(crate) fn latest_version() -> u32 {
    MIGRATIONS.len() as u32
}

pub(crate) fn user_version(conn: &Connection) -> Result<u32> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Brings the database up to `target` (normally [`latest_version`]). Refuses a database that
/// is newer than this build.
pub fn migrate_to(conn: &mut Connection, target: u32) -> Result<()> {
    let current = user_version(conn)?;
    if current > latest_version() {
        return Err(Error::SchemaTooNew(format!(
            "this database uses schema version {current}, but this Privacy Desk only knows up to \
             version {}: install the newer Privacy Desk that wrote it",
            latest_version()
        )));
    }
    for version in current + 1..=target {
        let (name, sql) = MIGRATIONS[version as usize - 1];
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .map_err(|e| Error::Database(format!("migration {name} failed: {e}")))?;
        after_script(version, &tx)
            .map_err(|e| Error::Database(format!("migration {name} failed: {e}")))?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(migration = name, "applied schema migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema as SQLite reports it, normalised, for comparing two databases.
    fn schema(conn: &Connection) -> Vec<(String, String, String)> {
        let mut stmt = conn
            .prepare(
                "SELECT type, name, sql FROM sqlite_schema
                 WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
            )
            .unwrap();
        stmt.query_map([], |r| {
            let sql: Option<String> = r.get(2)?;
            Ok((
                r.get(0)?,
                r.get(1)?,
                sql.unwrap_or_default()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            ))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
    }

    #[test]
    fn upgrading_every_old_version_gives_the_fresh_schema() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate_to(&mut fresh, latest_version()).unwrap();
        assert_eq!(user_version(&fresh).unwrap(), latest_version());

        for old in 0..latest_version() {
            let mut conn = Connection::open_in_memory().unwrap();
            migrate_to(&mut conn, old).unwrap();
            // A database in use at the old version holds data that must survive the upgrade.
            if old >= 1 {
                conn.execute(
                    "INSERT INTO processors (name, kind, created_at) VALUES ('Stripe', 'stripe', 1)",
                    [],
                )
                .unwrap();
            }
            migrate_to(&mut conn, latest_version()).unwrap();
            assert_eq!(schema(&conn), schema(&fresh), "upgrade from v{old}");
            if old >= 1 {
                let n: i64 = conn
                    .query_row("SELECT count(*) FROM processors", [], |r| r.get(0))
                    .unwrap();
                assert_eq!(n, 1, "data kept when upgrading from v{old}");
            }
        }
    }

    #[test]
    fn v10_gives_new_databases_a_random_namespace_and_upgraded_ones_none_yet() {
        let fresh = || {
            let mut c = Connection::open_in_memory().unwrap();
            migrate_to(&mut c, latest_version()).unwrap();
            crate::store::install::get(&c).unwrap().unwrap()
        };
        let (a, b) = (fresh(), fresh());
        assert_eq!(a.install_id.len(), 32);
        assert_ne!(a.install_id, b.install_id);
        assert_eq!(a.keychain_namespace.as_deref(), Some(a.install_id.as_str()));
        assert!(!a.upgraded);

        // A database in use before v10: its processor's entries are recorded as written, and
        // its namespace is left for the first open to adopt.
        let mut c = Connection::open_in_memory().unwrap();
        migrate_to(&mut c, 9).unwrap();
        c.execute(
            "INSERT INTO processors (name, kind, created_at) VALUES ('Stripe', 'stripe', 1)",
            [],
        )
        .unwrap();
        migrate_to(&mut c, latest_version()).unwrap();
        let row = crate::store::install::get(&c).unwrap().unwrap();
        assert!(row.upgraded);
        assert_eq!(row.keychain_namespace, None);
        assert_eq!(
            crate::store::install::recorded_entries(&c).unwrap().len(),
            3
        );
        crate::store::install::adopt_namespace(&c, "0123456789abcdef").unwrap();
        crate::store::install::adopt_namespace(&c, "ffffffffffffffff").unwrap();
        assert_eq!(
            crate::store::install::keychain_namespace(&c)
                .unwrap()
                .as_deref(),
            Some("0123456789abcdef"),
            "adopted once"
        );
    }

    /// The per-day counts and the types seen are built from the events a database held
    /// before v15 (also before 1970), then kept by the triggers.
    #[test]
    fn the_counts_start_from_the_events_already_stored() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate_to(&mut c, 12).unwrap();
        c.execute(
            "INSERT INTO processors (name, kind, created_at) VALUES ('Stripe', 'stripe', 1)",
            [],
        )
        .unwrap();
        for (i, (t, ty, st)) in [
            (-1, "charge.succeeded", "linked"),
            (-86_400_000, "charge.succeeded", "linked"),
            (0, "charge.succeeded", "linked"),
            (86_399_999, "customer.created", "pending"),
            (86_400_000, "customer.created", "pending"),
        ]
        .into_iter()
        .enumerate()
        {
            c.execute(
                "INSERT INTO events (processor_id, source, event_id, event_type, occurred_at,
                     received_at, status, data) VALUES (1, 'stripe', ?1, ?2, ?3, 0, ?4, '{}')",
                rusqlite::params![format!("evt_{i}"), ty, t, st],
            )
            .unwrap();
        }
        migrate_to(&mut c, latest_version()).unwrap();
        let rows: Vec<(i64, String, String, i64)> = c
            .prepare(
                "SELECT day, t.event_type, status, n FROM event_counts
                 JOIN event_types t ON t.id = type_id ORDER BY day, t.event_type",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let row = |d: i64, t: &str, s: &str, n: i64| (d, t.to_owned(), s.to_owned(), n);
        assert_eq!(
            rows,
            [
                row(-1, "charge.succeeded", "linked", 2),
                row(0, "charge.succeeded", "linked", 1),
                row(0, "customer.created", "pending", 1),
                row(1, "customer.created", "pending", 1),
            ]
        );
        // Then kept by the triggers: linking moves one between statuses.
        c.execute(
            "UPDATE events SET status = 'linked' WHERE event_id = 'evt_4'",
            [],
        )
        .unwrap();
        let n: i64 = c
            .query_row(
                "SELECT n FROM event_counts WHERE day = 1 AND status = 'linked'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn a_newer_database_is_refused_with_a_clear_message() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", latest_version() + 1)
            .unwrap();
        let err = migrate_to(&mut conn, latest_version()).unwrap_err();
        assert_eq!(err.code(), "schema_too_new");
        assert!(err.to_string().contains("newer Privacy Desk"), "{err}");
    }
}
