//! Ingestion: a verified, minimised event in → a durable row in the Processing Activity Log,
//! linked to a data subject by [`link`] in the same transaction (or, behind events that wait
//! for linking, after the commit by the linker).
//!
//! The receiver, and later the Stripe catch-up, hand events here; both go through
//! [`StoreJob`], so dedupe and durability rules are the same whatever the path.

pub mod link;
pub mod model;

use crate::error::{Error, Result};
use crate::secrets::HashKey;
use crate::store::{self, deliveries, events, payload, replay_cache, Connection, Db};
use model::Incoming;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Newly stored.
    Accepted,
    /// This processor's event id was stored before; nothing changed.
    Duplicate,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Duplicate => "duplicate",
        }
    }
}

/// The row to store for `inc`, received now from processor `processor_id` (`source` is
/// `stripe` or a webhook processor's name). `replay_key` (the data directory's hash key)
/// gives the row the replay hash that keeps its id known after the event is deleted: every
/// path that receives events passes it; only tests and benches go without.
pub fn row(
    processor_id: i64,
    source: &str,
    inc: Incoming,
    received_at: i64,
    replay_key: Option<&HashKey>,
) -> events::NewEvent {
    let d = &inc.data;
    events::NewEvent {
        replay_hash: replay_key.map(|k| k.replay(processor_id, &inc.event_id)),
        processor_id,
        source: source.to_owned(),
        event_id: inc.event_id,
        event_type: inc.event_type,
        occurred_at: inc.occurred_at,
        received_at,
        livemode: inc.livemode,
        status: if inc.thin {
            events::status::AWAITING_FETCH
        } else {
            events::status::PENDING
        },
        object_id: d.object_id.clone(),
        customer_ref: d.customer_ref.clone(),
        observed: d.observed.join(","),
        data: serde_json::to_string(d).expect("minimised data serialises"),
    }
}

/// What storing an event did.
#[derive(Debug, Clone, Copy)]
struct StoredAs {
    outcome: Outcome,
    /// The status the event was stored with (for a duplicate: the new row's, never written).
    status: &'static str,
}

/// Stores `row`, whose payload's stored form `stored` (if given) was computed off the writer,
/// and whose data's [`link::LinkView`] is `view` (if read off the writer too).
///
/// A pending event is linked here, in its own transaction, unless an event stored before it
/// still waits for the linker (linking goes in stored order). So the usual webhook is written
/// once, already linked, rather than inserted and then updated by the linker.
fn store_row(
    conn: &Connection,
    row: &events::NewEvent,
    stored: Option<&payload::Stored>,
    view: Option<&link::LinkView>,
) -> Result<StoredAs> {
    let duplicate = StoredAs {
        outcome: Outcome::Duplicate,
        status: row.status,
    };
    let accepted = |status| StoredAs {
        outcome: Outcome::Accepted,
        status,
    };
    // Stored once and deleted since (retention, erasure): a replay, not a new event.
    if let Some(h) = &row.replay_hash {
        if replay_cache::contains(conn, h)? {
            return Ok(duplicate);
        }
    }
    // An erased subject's personal data must not come back with a later event.
    let suppressed = link::suppressed_row(conn, row)?;
    if let Some(other) = &suppressed {
        let new = events::insert(conn, other)?;
        return Ok(if new {
            accepted(other.status)
        } else {
            duplicate
        });
    }
    let inline = row.status == events::status::PENDING && !events::any_pending(conn)?;
    if !inline {
        let new = events::insert_stored(conn, row, stored, None)?;
        return Ok(if new { accepted(row.status) } else { duplicate });
    }
    if events::exists(conn, row.processor_id, &row.event_id)? {
        return Ok(duplicate);
    }
    let read;
    let view = match view {
        Some(v) => v,
        None => {
            read = link::LinkView::read(&row.data).unwrap_or_default();
            &read
        }
    };
    // Up to here nothing was written. Linking may change subjects before the event's insert:
    // should anything fail after such a change, the whole batch is given up (no job of it
    // reports a commit), since this job has no savepoint to go back to.
    let before = conn.total_changes();
    let link = link::decide(
        conn,
        &link::ToLink {
            processor_id: row.processor_id,
            event_type: &row.event_type,
            customer_ref: row.customer_ref.as_deref(),
            occurred_at: row.occurred_at,
            view,
        },
    );
    // Counted before the insert: a failed insert's triggers may count changes it undid.
    let linking_wrote = conn.total_changes() != before;
    let result = link.and_then(|link| {
        if events::insert_stored(conn, row, stored, Some(&link))? {
            Ok(accepted(link.status))
        } else {
            Err(Error::Database(
                "an event found new was already stored".into(),
            ))
        }
    });
    if result.is_err() && linking_wrote {
        store::abandon_batch(conn);
    }
    result
}

/// A write job storing one event; `done` runs after the commit with the outcome.
/// Many of these share one transaction (group commit).
pub struct StoreJob<F: FnOnce(Result<Outcome>) + Send> {
    row: events::NewEvent,
    /// The payload's stored form, compressed where the job is made (the receiver's threads),
    /// so that the writer, the one serial stage, does not spend its time on it.
    stored: Option<payload::Stored>,
    /// What linking reads of the data, read where the job is made, for the same reason.
    view: Option<link::LinkView>,
    /// Record the delivery (the receiver's 200) in the same transaction as the event.
    log_delivery: bool,
    /// Told what was stored, after the commit.
    linker: Option<link::LinkerHandle>,
    outcome: Option<Result<StoredAs>>,
    done: Option<F>,
}

impl<F: FnOnce(Result<Outcome>) + Send + 'static> StoreJob<F> {
    pub fn new(row: events::NewEvent, done: F) -> Box<Self> {
        Box::new(StoreJob {
            // Should it fail, the writer tries again and reports the error.
            stored: events::stored_payload(&row).ok(),
            view: link::LinkView::read(&row.data),
            row,
            log_delivery: false,
            linker: None,
            outcome: None,
            done: Some(done),
        })
    }

    /// Also records the delivery in the deliveries log, in the event's own transaction (one
    /// write job per webhook instead of two).
    pub fn with_delivery_log(mut self: Box<Self>) -> Box<Self> {
        self.log_delivery = true;
        self
    }

    /// Tells `linker` about the new event once it is committed: to link it, or to report it
    /// linked.
    pub fn telling(mut self: Box<Self>, linker: link::LinkerHandle) -> Box<Self> {
        self.linker = Some(linker);
        self
    }
}

impl<F: FnOnce(Result<Outcome>) + Send> store::Job for StoreJob<F> {
    fn apply(&mut self, conn: &Connection) -> bool {
        let r = store_row(conn, &self.row, self.stored.as_ref(), self.view.as_ref());
        let ok = r.is_ok();
        if let (Ok(s), true) = (&r, self.log_delivery) {
            let delivery = deliveries::DeliveryRow {
                received_at: self.row.received_at,
                status_code: 200,
                outcome: s.outcome.as_str().to_owned(),
                reason: None,
                event_id: Some(self.row.event_id.clone()),
                processor_id: Some(self.row.processor_id),
            };
            // The log is for troubleshooting: failing to write it must not lose the event.
            if let Err(e) = deliveries::insert(conn, &delivery) {
                tracing::warn!(error = %e, "recording a delivery failed");
            }
        }
        self.outcome = Some(r);
        ok
    }

    /// No savepoint: when `apply` fails before writing, nothing was written (finding out
    /// about replays, suppression, duplicates and the linker's backlog only reads); when it
    /// fails after, it gives up the whole batch (`store_row`). The delivery record is written
    /// only after the event, its own failure tolerated.
    fn needs_savepoint(&self) -> bool {
        false
    }

    fn finish(mut self: Box<Self>, committed: Result<()>) {
        let stored = match committed {
            Ok(()) => self
                .outcome
                .take()
                .unwrap_or_else(|| Err(Error::Unavailable("the event was not stored".into()))),
            Err(e) => Err(e),
        };
        if let (Ok(s), Some(linker)) = (&stored, &self.linker) {
            if s.outcome == Outcome::Accepted {
                linker.stored(s.status);
            }
        }
        if let Some(done) = self.done.take() {
            done(stored.map(|s| s.outcome));
        }
    }
}

/// Stores one event and waits for the commit (catch-up, backfill, tests).
pub fn store_blocking(db: &Db, row: events::NewEvent) -> Result<Outcome> {
    let stored = events::stored_payload(&row)?;
    db.write(move |conn| Ok(store_row(conn, &row, Some(&stored), None)?.outcome))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::processors;
    use std::sync::mpsc;

    /// A pending `charge.succeeded` naming no one, as the linker's tests need them too.
    pub(super) fn event(processor_id: i64, event_id: &str) -> events::NewEvent {
        events::NewEvent {
            processor_id,
            source: "stripe".into(),
            event_id: event_id.into(),
            event_type: "charge.succeeded".into(),
            occurred_at: 1_000,
            received_at: 2_000,
            livemode: Some(false),
            status: events::status::PENDING,
            object_id: Some("ch_1".into()),
            customer_ref: None,
            observed: String::new(),
            data: "{}".into(),
            replay_hash: None,
        }
    }

    pub(super) fn stripe_processor(db: &Db) -> i64 {
        db.write(|c| processors::insert(c, &processors::NewProcessor::bare_stripe("e")))
            .unwrap()
    }

    /// Queues one store job per row while the writer is held, so that all share one
    /// transaction; returns each job's outcome, in order.
    fn store_in_one_batch(
        db: &Db,
        rows: Vec<events::NewEvent>,
    ) -> Vec<std::result::Result<Outcome, String>> {
        let held = db.hold().unwrap();
        let (tx, rx) = mpsc::channel();
        let n = rows.len();
        for (i, row) in rows.into_iter().enumerate() {
            let tx = tx.clone();
            let job = StoreJob::new(row, move |r: Result<Outcome>| {
                tx.send((i, r.map_err(|e| e.to_string()))).unwrap();
            });
            db.submit(job.with_delivery_log()).unwrap();
        }
        drop(held);
        let mut outcomes: Vec<_> = rx.iter().take(n).collect();
        outcomes.sort_by_key(|(i, _)| *i);
        outcomes.into_iter().map(|(_, r)| r).collect()
    }

    fn stored_ids(db: &Db) -> Vec<String> {
        db.read(|c| {
            Ok(c.prepare("SELECT event_id FROM events ORDER BY id")?
                .query_map([], |r| r.get(0))?
                .collect::<std::result::Result<_, _>>()?)
        })
        .unwrap()
    }

    /// Store jobs run without a savepoint of their own: one that fails inside a shared
    /// transaction must still leave nothing behind, and its neighbours must commit.
    #[test]
    fn a_failing_event_in_a_batch_leaves_nothing_and_its_neighbours_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let pid = stripe_processor(&db);
        // evt_2 names a processor that does not exist (a foreign key failure); evt_4 repeats
        // evt_3.
        let rows = [
            (pid, "evt_1"),
            (pid + 99, "evt_2"),
            (pid, "evt_3"),
            (pid, "evt_3"),
            (pid, "evt_5"),
        ];
        let outcomes = store_in_one_batch(&db, rows.map(|(p, id)| event(p, id)).into());
        assert_eq!(outcomes[0], Ok(Outcome::Accepted));
        assert!(outcomes[1].is_err(), "{:?}", outcomes[1]);
        assert_eq!(outcomes[2], Ok(Outcome::Accepted));
        assert_eq!(outcomes[3], Ok(Outcome::Duplicate));
        assert_eq!(outcomes[4], Ok(Outcome::Accepted));

        assert_eq!(stored_ids(&db), ["evt_1", "evt_3", "evt_5"]);
        let deliveries: Vec<(String, String)> = db
            .read(|c| {
                Ok(
                    c.prepare("SELECT event_id, outcome FROM deliveries ORDER BY id")?
                        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect::<std::result::Result<_, _>>()?,
                )
            })
            .unwrap();
        let d = |id: &str, o: &str| (id.to_owned(), o.to_owned());
        assert_eq!(
            deliveries,
            [
                d("evt_1", "accepted"),
                d("evt_3", "accepted"),
                d("evt_3", "duplicate"),
                d("evt_5", "accepted"),
            ]
        );
    }

    /// An event linked as it is stored may change subjects before its insert fails; with no
    /// savepoint to go back to, the whole batch is given up: every job of it says it failed
    /// and nothing of it is stored, not even the subject its linking made.
    #[test]
    fn a_failing_insert_after_linking_wrote_gives_up_the_whole_batch() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let pid = stripe_processor(&db);
        let with_email = |p: i64, id: &str| events::NewEvent {
            data: r#"{"subject":{"email":"new@example.com"}}"#.into(),
            ..event(p, id)
        };
        // evt_2's processor does not exist: its insert fails after its subject was made.
        let rows = vec![
            event(pid, "evt_1"),
            with_email(pid + 99, "evt_2"),
            event(pid, "evt_3"),
        ];
        let outcomes = store_in_one_batch(&db, rows);
        assert!(outcomes.iter().all(|o| o.is_err()), "{outcomes:?}");
        assert!(stored_ids(&db).is_empty());
        let subjects: i64 = db
            .read(|c| Ok(c.query_row("SELECT count(*) FROM subjects", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(subjects, 0);
        // The writer goes on: the same events, without the bad one, are stored.
        let outcomes = store_in_one_batch(&db, vec![event(pid, "evt_1"), event(pid, "evt_3")]);
        assert!(outcomes.iter().all(|o| o.is_ok()), "{outcomes:?}");
        assert_eq!(stored_ids(&db), ["evt_1", "evt_3"]);
    }

    /// A deleted event's id stays known (a keyed hash, not the id) and its replay is a
    /// duplicate; the id of another processor, or another id, is new.
    #[test]
    fn an_event_deleted_by_retention_or_erasure_is_not_stored_again() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let pid = stripe_processor(&db);
        let other = db
            .write(|c| processors::insert(c, &processors::NewProcessor::bare_stripe("f")))
            .unwrap();
        let key = HashKey::from_bytes(b"test key");
        let keyed = |p: i64, id: &str| events::NewEvent {
            replay_hash: Some(key.replay(p, id)),
            ..event(p, id)
        };
        for id in ["evt_old", "evt_erased"] {
            assert_eq!(
                store_blocking(&db, keyed(pid, id)).unwrap(),
                Outcome::Accepted
            );
        }
        // Both deleted as retention deletes them (an erasure deletes rows the same way, and
        // the trigger does not care which).
        db.write(|c| {
            events::delete_received_before(c, 3_000, usize::MAX)?;
            assert_eq!(replay_cache::count(c)?, 2);
            Ok(())
        })
        .unwrap();
        assert!(stored_ids(&db).is_empty());
        for id in ["evt_old", "evt_erased"] {
            assert_eq!(
                store_blocking(&db, keyed(pid, id)).unwrap(),
                Outcome::Duplicate
            );
        }
        assert!(stored_ids(&db).is_empty());
        assert_eq!(
            store_blocking(&db, keyed(other, "evt_old")).unwrap(),
            Outcome::Accepted
        );
        assert_eq!(
            store_blocking(&db, keyed(pid, "evt_new")).unwrap(),
            Outcome::Accepted
        );
        // The cache holds no id in clear.
        let cached: Vec<Vec<u8>> = db
            .read(|c| {
                Ok(c.prepare("SELECT hash FROM replay_cache")?
                    .query_map([], |r| r.get(0))?
                    .collect::<std::result::Result<_, _>>()?)
            })
            .unwrap();
        assert!(cached
            .iter()
            .all(|h| h.len() == 16 && !h.windows(3).any(|w| w == b"evt")));
        // Entries expire by their received time.
        db.write(|c| replay_cache::delete_seen_before(c, 2_001, 100))
            .unwrap();
        assert_eq!(
            store_blocking(&db, keyed(pid, "evt_old")).unwrap(),
            Outcome::Accepted
        );
    }

    /// When the disk is full SQLite may abandon the whole transaction; the jobs after the
    /// failing one must then not be committed one by one behind the batch's back: whatever a
    /// job reports is what the database holds.
    #[test]
    fn a_full_disk_mid_batch_reports_exactly_what_was_stored() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let pid = stripe_processor(&db);
        // The database may not grow: the first insert that needs a new page fails.
        db.write(|c| {
            let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            c.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
            Ok(())
        })
        .unwrap();
        // Random, so that it does not compress away (store/payload.rs).
        let big = |_| {
            let mut b = [0u8; 1500];
            getrandom::fill(&mut b).unwrap();
            hex::encode(b)
        };
        let rows: Vec<_> = (0..40)
            .map(|i| events::NewEvent {
                data: format!("{{\"pad\":\"{}\"}}", big(i)),
                ..event(pid, &format!("evt_{i}"))
            })
            .collect();
        let outcomes = store_in_one_batch(&db, rows);
        assert!(outcomes.iter().any(|o| o.is_err()), "the disk filled up");
        let reported: Vec<String> = outcomes
            .iter()
            .enumerate()
            .filter(|(_, o)| o.is_ok())
            .map(|(i, _)| format!("evt_{i}"))
            .collect();
        assert_eq!(stored_ids(&db), reported);
    }
}
