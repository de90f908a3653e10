//! Linking stored events to data subjects. Runs after the commit, on the writer thread, in
//! the order events were stored. Events whose customer is not known yet stay `unlinked` and
//! are linked when the customer arrives (Stripe delivers out of order).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use serde::Deserialize;

use super::model::{Minimised, SubjectData};
use crate::error::Result;
use crate::store::{events, events::status, subjects, Connection, Db};

/// Links up to `limit` pending events. Returns how many were processed.
pub fn process_pending(conn: &Connection, limit: u32) -> Result<usize> {
    Ok(link_round(conn, limit)?.processed)
}

/// What a round of linking did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Pending events processed.
    pub processed: usize,
    /// Of them, those left `unlinked`: they name a customer no subject is known by yet,
    /// which the Stripe job looks up.
    pub unlinked: usize,
}

/// [`process_pending`], saying how many events it left waiting for their customer.
pub fn link_round(conn: &Connection, limit: u32) -> Result<Round> {
    let pending = events::pending(conn, limit)?;
    let mut unlinked = 0;
    for ev in &pending {
        // Subjects and email history are dated by the event that showed them, not by when
        // it was processed (a catch-up can bring months-old events).
        if link_one(conn, ev, ev.occurred_at)? == status::UNLINKED {
            unlinked += 1;
        }
    }
    Ok(Round {
        processed: pending.len(),
        unlinked,
    })
}

/// What linking reads of a stored event's data: the subject's part and the related ids (the
/// business fields are skipped, not parsed: this runs in the single writer thread).
#[derive(Deserialize)]
struct LinkView {
    #[serde(default)]
    subject: SubjectData,
    #[serde(default)]
    related: Vec<String>,
}

/// Links one event; returns the status it gave it.
fn link_one(conn: &Connection, ev: &events::Pending, now: i64) -> Result<&'static str> {
    let Ok(m) = serde_json::from_str::<LinkView>(&ev.data) else {
        tracing::warn!(row = ev.id, "stored event data unreadable; left unlinked");
        events::set_outcome(conn, ev.id, status::NO_SUBJECT, None, None)?;
        return Ok(status::NO_SUBJECT);
    };
    let p = ev.processor_id;
    let s = &m.subject;
    let mut subject = match &ev.customer_ref {
        Some(cus) => subjects::id_by_external(conn, p, cus)?,
        None => None,
    };
    // Known by its customer id: the id is attached, and the events that waited for it were
    // linked when it was (both happen only here, in stored order).
    let attached = subject.is_some();

    if s.is_profile {
        // The customer record itself: its email is the subject's current address.
        if let Some(email) = &s.email {
            let id = match subject {
                Some(id) => id,
                None => {
                    let known = match &s.previous_email {
                        Some(prev) => subjects::id_by_email(conn, prev)?,
                        None => None,
                    };
                    match known.or(subjects::id_by_email(conn, email)?) {
                        Some(id) => id,
                        None => subjects::create(conn, email, s.name.as_deref(), now)?,
                    }
                }
            };
            subjects::change_email(conn, id, email, now)?;
            if let Some(prev) = &s.previous_email {
                subjects::add_past_email(conn, id, prev, now)?;
            }
            subject = Some(id);
        }
        if let (Some(id), Some(name)) = (subject, &s.name) {
            subjects::set_name(conn, id, name, now)?;
        }
        if let Some(id) = subject.filter(|_| s.deleted || ev.event_type == "customer.deleted") {
            subjects::set_status(conn, id, "deleted_at_processor", now)?;
        }
    } else if subject.is_none() {
        if let Some(email) = &s.email {
            // A contact email on a payment: guest checkout, invoices.
            subject = Some(match subjects::id_by_email(conn, email)? {
                Some(id) => id,
                None => subjects::create(conn, email, s.name.as_deref(), now)?,
            });
        } else if !m.related.is_empty() {
            subject = events::subject_of_objects(conn, p, &m.related)?;
        }
        if let (Some(id), Some(name)) = (subject, &s.name) {
            subjects::set_name_if_missing(conn, id, name)?;
        }
    }

    let Some(id) = subject else {
        let st = if ev.customer_ref.is_some() {
            status::UNLINKED
        } else {
            status::NO_SUBJECT
        };
        events::set_outcome(conn, ev.id, st, None, None)?;
        return Ok(st);
    };
    let current = subjects::email_of(conn, id)?;
    if let (Some(cus), false) = (&ev.customer_ref, attached) {
        subjects::attach_external(conn, p, cus, id, now)?;
        if let Some(email) = &current {
            events::link_waiting(conn, p, cus, id, email)?;
        }
    }
    events::set_outcome(conn, ev.id, status::LINKED, Some(id), current.as_deref())?;
    Ok(status::LINKED)
}

/// The event's status when it names an erased subject: stored without personal data, never
/// linked.
pub(crate) const SUPPRESSED: &str = "suppressed";

/// If `row` names an erased subject (its customer id or an email is in the suppression list,
/// as keyed hashes), the row to store instead: personal data dropped, status `suppressed`.
pub(crate) fn suppressed_row(
    conn: &Connection,
    row: &events::NewEvent,
) -> Result<Option<events::NewEvent>> {
    use crate::store::requests as rq;
    if !rq::any_suppression(conn)? {
        return Ok(None);
    }
    let m: Option<Minimised> = serde_json::from_str(&row.data).ok();
    let emails: Vec<&String> = m
        .as_ref()
        .map(|m| {
            m.subject
                .email
                .iter()
                .chain(m.subject.previous_email.iter())
                .collect()
        })
        .unwrap_or_default();
    if row.customer_ref.is_none() && emails.is_empty() {
        return Ok(None);
    }
    // Fail closed: without the key, erased subjects cannot be recognised (the receiver then
    // answers 503 and Stripe retries).
    let namespace = crate::store::install::keychain_namespace(conn)?.ok_or_else(|| {
        crate::error::Error::Unavailable("the database has no keychain namespace yet".into())
    })?;
    let key = crate::secrets::InstallKeychain::app_wide(namespace)
        .existing_hash_key()?
        .ok_or_else(|| {
            crate::error::Error::Keychain(
                "erased subjects are listed but the hash key is missing from the keychain".into(),
            )
        })?;
    let mut hit = match &row.customer_ref {
        Some(c) => rq::is_suppressed(conn, &key.customer(row.processor_id, c))?,
        None => false,
    };
    for e in emails {
        hit = hit || rq::is_suppressed(conn, &key.subject(e))?;
    }
    if !hit {
        return Ok(None);
    }
    let mut m = m.unwrap_or_default();
    m.subject = Default::default();
    Ok(Some(events::NewEvent {
        processor_id: row.processor_id,
        source: row.source.clone(),
        event_id: row.event_id.clone(),
        event_type: row.event_type.clone(),
        occurred_at: row.occurred_at,
        received_at: row.received_at,
        livemode: row.livemode,
        status: SUPPRESSED,
        object_id: row.object_id.clone(),
        customer_ref: row.customer_ref.clone(),
        observed: row.observed.clone(),
        data: serde_json::to_string(&m).expect("minimised data serialises"),
        replay_hash: row.replay_hash,
    }))
}

/// Hears how many events a round of linking linked.
pub(crate) type OnLinked = Arc<dyn Fn(usize) + Send + Sync>;

/// A background thread that links pending events whenever it is nudged.
pub struct Linker {
    nudge: SyncSender<()>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Linker {
    /// Starts the thread; it first links whatever a previous run left pending. `on_linked`
    /// hears how many events each round processed, `on_unlinked` how many of them it left
    /// waiting for their customer (when any did).
    pub fn start(db: Db, on_linked: Option<OnLinked>, on_unlinked: Option<OnLinked>) -> Linker {
        let (tx, rx) = mpsc::sync_channel::<()>(1);
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("linker".into())
            .spawn(move || loop {
                let (mut linked, mut unlinked) = (0, 0);
                loop {
                    match db.write(|c| link_round(c, 500)) {
                        Ok(r) if r.processed == 0 => break,
                        Ok(r) => {
                            linked += r.processed;
                            unlinked += r.unlinked;
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "linking events failed");
                            break;
                        }
                    }
                }
                if let (Some(hook), true) = (&on_linked, linked > 0) {
                    hook(linked);
                }
                if let (Some(hook), true) = (&on_unlinked, unlinked > 0) {
                    hook(unlinked);
                }
                if stopping.load(Ordering::SeqCst) || rx.recv().is_err() {
                    return;
                }
            })
            .expect("spawn the linker thread");
        Linker {
            nudge: tx,
            stop,
            thread: Some(thread),
        }
    }

    /// A cloneable nudge for the threads that store events.
    pub fn handle(&self) -> LinkerHandle {
        LinkerHandle(self.nudge.clone())
    }
}

/// Says that new events were stored. Never blocks; nudges coalesce.
#[derive(Clone)]
pub struct LinkerHandle(SyncSender<()>);

impl LinkerHandle {
    pub fn nudge(&self) {
        let _ = self.0.try_send(());
    }
}

impl Drop for Linker {
    /// Finishes the pending work, then stops.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.nudge.try_send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::processors;
    use std::sync::atomic::AtomicUsize;
    use std::time::{Duration, Instant};

    fn row(processor_id: i64, id: &str, customer: Option<&str>, data: &str) -> events::NewEvent {
        events::NewEvent {
            customer_ref: customer.map(str::to_owned),
            data: data.into(),
            ..crate::ingest::tests::event(processor_id, id)
        }
    }

    /// The Stripe job is nudged by `on_unlinked` only for rounds that left an event waiting
    /// for its customer, with how many; `on_linked` hears every round.
    #[test]
    fn the_linker_says_how_many_events_wait_for_their_customer() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let p = db
            .write(|c| processors::insert(c, &processors::NewProcessor::bare_stripe("e")))
            .unwrap();
        let (linked, unlinked) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (l, u) = (linked.clone(), unlinked.clone());
        let unlinked_calls = Arc::new(AtomicUsize::new(0));
        let counted = unlinked_calls.clone();
        let linker = Linker::start(
            db.clone(),
            Some(Arc::new(move |n| {
                l.fetch_add(n, Ordering::SeqCst);
            })),
            Some(Arc::new(move |n| {
                u.fetch_add(n, Ordering::SeqCst);
                counted.fetch_add(1, Ordering::SeqCst);
            })),
        );
        // Until `n` events were processed and `waiting` reported left unlinked.
        let wait_for = |n: usize, waiting: usize| {
            let start = Instant::now();
            while linked.load(Ordering::SeqCst) < n || unlinked.load(Ordering::SeqCst) < waiting {
                assert!(start.elapsed() < Duration::from_secs(10), "not linked");
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        let store = |r: events::NewEvent| {
            crate::ingest::store_blocking(&db, r).unwrap();
            linker.handle().nudge();
        };
        // A payment with an email, one naming only a customer no one knows, one naming
        // nobody.
        store(row(
            p,
            "evt_a",
            Some("cus_a"),
            r#"{"subject":{"email":"a@example.com"}}"#,
        ));
        store(row(p, "evt_b", Some("cus_b"), "{}"));
        store(row(p, "evt_c", None, "{}"));
        wait_for(3, 1);
        // Time for a second, wrong report to arrive.
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(unlinked.load(Ordering::SeqCst), 1);
        let rounds_with_unlinked = unlinked_calls.load(Ordering::SeqCst);
        assert!(rounds_with_unlinked >= 1);
        // Events whose subjects are found nudge nothing.
        store(row(p, "evt_d", Some("cus_a"), "{}"));
        store(row(
            p,
            "evt_e",
            None,
            r#"{"subject":{"email":"e@example.com"}}"#,
        ));
        wait_for(5, 1);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(unlinked.load(Ordering::SeqCst), 1);
        assert_eq!(unlinked_calls.load(Ordering::SeqCst), rounds_with_unlinked);
        let statuses: Vec<String> = db
            .read(|c| {
                Ok(c.prepare("SELECT status FROM events ORDER BY id")?
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?)
            })
            .unwrap();
        assert_eq!(
            statuses,
            ["linked", "unlinked", "no_subject", "linked", "linked"]
        );
    }
}
