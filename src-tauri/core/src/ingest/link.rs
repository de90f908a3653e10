//! Linking events to data subjects. Runs on the writer thread, in the order events were
//! stored: in the store job's own transaction when no event stored before waits for linking
//! (`ingest::store_row`), otherwise after the commit, by the [`Linker`]'s rounds. Events whose
//! customer is not known yet stay `unlinked` and are linked when the customer arrives (Stripe
//! delivers out of order).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::model::{Minimised, SubjectData};
use crate::error::Result;
use crate::store::{events, events::status, events::Link, subjects, Connection, Db};

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
        if link_one(conn, ev)? == status::UNLINKED {
            unlinked += 1;
        }
    }
    Ok(Round {
        processed: pending.len(),
        unlinked,
    })
}

/// What linking reads of an event's data: the subject's part and the related ids (the
/// business fields are skipped, not parsed: this runs in the single writer thread, or where a
/// store job is made).
#[derive(Deserialize, Default)]
pub(crate) struct LinkView {
    #[serde(default)]
    subject: SubjectData,
    #[serde(default)]
    related: Vec<String>,
}

impl LinkView {
    /// `None` when `data` is not a minimised event's JSON.
    pub(crate) fn read(data: &str) -> Option<LinkView> {
        serde_json::from_str(data).ok()
    }
}

/// The event a link is decided for: what its row says and its data's [`LinkView`].
pub(crate) struct ToLink<'a> {
    pub processor_id: i64,
    pub event_type: &'a str,
    pub customer_ref: Option<&'a str>,
    /// Subjects and email history are dated by the event that showed them, not by when it
    /// was processed (a catch-up can bring months-old events).
    pub occurred_at: i64,
    pub view: &'a LinkView,
}

/// Links one stored event; returns the status it gave it.
fn link_one(conn: &Connection, ev: &events::Pending) -> Result<&'static str> {
    let Some(view) = LinkView::read(&ev.data) else {
        tracing::warn!(row = ev.id, "stored event data unreadable; left unlinked");
        events::set_outcome(conn, ev.id, status::NO_SUBJECT, None, None)?;
        return Ok(status::NO_SUBJECT);
    };
    let link = decide(
        conn,
        &ToLink {
            processor_id: ev.processor_id,
            event_type: &ev.event_type,
            customer_ref: ev.customer_ref.as_deref(),
            occurred_at: ev.occurred_at,
            view: &view,
        },
    )?;
    events::set_outcome(
        conn,
        ev.id,
        link.status,
        link.subject_id,
        link.subject_email.as_deref(),
    )?;
    Ok(link.status)
}

/// Decides the link of one event and makes the changes to subjects it brings (a new subject,
/// an email change, a customer id attached, and the events that waited for that customer
/// linked). The event's own row is the caller's to write: updated by the linker, or inserted
/// so by a store job (`ingest::store_row`). Either way only in stored order.
pub(crate) fn decide(conn: &Connection, ev: &ToLink) -> Result<Link> {
    let p = ev.processor_id;
    let now = ev.occurred_at;
    let s = &ev.view.subject;
    let mut subject = match ev.customer_ref {
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
        } else if !ev.view.related.is_empty() {
            subject = events::subject_of_objects(conn, p, &ev.view.related)?;
        }
        if let (Some(id), Some(name)) = (subject, &s.name) {
            subjects::set_name_if_missing(conn, id, name)?;
        }
    }

    let Some(id) = subject else {
        let status = if ev.customer_ref.is_some() {
            status::UNLINKED
        } else {
            status::NO_SUBJECT
        };
        return Ok(Link {
            status,
            subject_id: None,
            subject_email: None,
        });
    };
    let current = subjects::email_of(conn, id)?;
    if let (Some(cus), false) = (ev.customer_ref, attached) {
        subjects::attach_external(conn, p, cus, id, now)?;
        if let Some(email) = &current {
            events::link_waiting(conn, p, cus, id, email)?;
        }
    }
    Ok(Link {
        status: status::LINKED,
        subject_id: Some(id),
        subject_email: current,
    })
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

/// At most one report to the hooks per this long: the window refreshes on each, and at
/// thousands of webhooks a second each store job would otherwise make one.
const REPORT_EVERY: Duration = Duration::from_millis(100);

/// What the threads that store events tell the linker between its rounds.
#[derive(Default)]
struct Told {
    /// Events stored `pending`: a round of linking is due.
    pending: AtomicBool,
    /// Events linked in their own transaction (`ingest::store_row`), to report.
    linked: AtomicUsize,
    /// Of them, those left `unlinked`.
    unlinked: AtomicUsize,
}

/// A background thread that links pending events whenever it is nudged, and reports to the
/// hooks what was linked: by it, or by the store jobs themselves.
pub struct Linker {
    handle: LinkerHandle,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Linker {
    /// Starts the thread; it first links whatever a previous run left pending. `on_linked`
    /// hears how many events were processed since its last report (at most one report per
    /// [`REPORT_EVERY`]), `on_unlinked` how many of them were left waiting for their customer
    /// (when any were).
    pub fn start(db: Db, on_linked: Option<OnLinked>, on_unlinked: Option<OnLinked>) -> Linker {
        let (tx, rx) = mpsc::sync_channel::<()>(1);
        let told = Arc::new(Told::default());
        told.pending.store(true, Ordering::SeqCst);
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let heard = told.clone();
        let thread = std::thread::Builder::new()
            .name("linker".into())
            .spawn(move || loop {
                let started = Instant::now();
                let mut linked = heard.linked.swap(0, Ordering::SeqCst);
                let mut unlinked = heard.unlinked.swap(0, Ordering::SeqCst);
                while heard.pending.swap(false, Ordering::SeqCst) {
                    match db.write(|c| link_round(c, 500)) {
                        Ok(r) if r.processed == 0 => {}
                        Ok(r) => {
                            linked += r.processed;
                            unlinked += r.unlinked;
                            // More may wait than one round takes.
                            heard.pending.store(true, Ordering::SeqCst);
                        }
                        Err(e) => tracing::error!(error = %e, "linking events failed"),
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
                if let Some(rest) = REPORT_EVERY.checked_sub(started.elapsed()) {
                    if !stopping.load(Ordering::SeqCst) {
                        std::thread::sleep(rest);
                    }
                }
            })
            .expect("spawn the linker thread");
        Linker {
            handle: LinkerHandle { nudge: tx, told },
            stop,
            thread: Some(thread),
        }
    }

    /// A cloneable handle for the threads that store events.
    pub fn handle(&self) -> LinkerHandle {
        self.handle.clone()
    }
}

/// Tells the linker what was stored. Never blocks; nudges coalesce.
#[derive(Clone)]
pub struct LinkerHandle {
    nudge: SyncSender<()>,
    told: Arc<Told>,
}

impl LinkerHandle {
    /// Events were stored `pending`: link them.
    pub fn nudge(&self) {
        self.told.pending.store(true, Ordering::SeqCst);
        let _ = self.nudge.try_send(());
    }

    /// A new event was committed with `status`: linked already, or to link, or neither (a
    /// thin event waits for the Stripe job, a suppressed one is never linked).
    pub fn stored(&self, status: &str) {
        match status {
            status::PENDING => self.nudge(),
            status::AWAITING_FETCH => {}
            linked => {
                if linked == status::UNLINKED {
                    self.told.unlinked.fetch_add(1, Ordering::SeqCst);
                }
                self.told.linked.fetch_add(1, Ordering::SeqCst);
                let _ = self.nudge.try_send(());
            }
        }
    }
}

impl Drop for Linker {
    /// Finishes the pending work, then stops.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.handle.nudge.try_send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::tests::stripe_processor as stripe;

    fn row(processor_id: i64, id: &str, customer: Option<&str>, data: &str) -> events::NewEvent {
        events::NewEvent {
            customer_ref: customer.map(str::to_owned),
            data: data.into(),
            ..crate::ingest::tests::event(processor_id, id)
        }
    }

    /// Counts what the linker's hooks hear.
    #[derive(Default)]
    struct Heard {
        linked: AtomicUsize,
        linked_calls: AtomicUsize,
        unlinked: AtomicUsize,
        unlinked_calls: AtomicUsize,
    }

    impl Heard {
        fn start(self: &Arc<Self>, db: &Db) -> Linker {
            let (l, u) = (self.clone(), self.clone());
            Linker::start(
                db.clone(),
                Some(Arc::new(move |n| {
                    l.linked.fetch_add(n, Ordering::SeqCst);
                    l.linked_calls.fetch_add(1, Ordering::SeqCst);
                })),
                Some(Arc::new(move |n| {
                    u.unlinked.fetch_add(n, Ordering::SeqCst);
                    u.unlinked_calls.fetch_add(1, Ordering::SeqCst);
                })),
            )
        }

        /// Until `n` events were reported processed and `waiting` left unlinked; then a
        /// moment for a wrong, extra report to arrive.
        fn wait_for(&self, n: usize, waiting: usize) {
            let start = Instant::now();
            while self.linked.load(Ordering::SeqCst) < n
                || self.unlinked.load(Ordering::SeqCst) < waiting
            {
                assert!(start.elapsed() < Duration::from_secs(10), "not reported");
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(REPORT_EVERY * 2);
            assert_eq!(self.linked.load(Ordering::SeqCst), n);
            assert_eq!(self.unlinked.load(Ordering::SeqCst), waiting);
        }
    }

    /// Stores `rows` as the receiver does (one store job each, all queued at once, telling
    /// the linker), and waits for their commit.
    fn store(db: &Db, linker: &Linker, rows: Vec<events::NewEvent>) {
        let (tx, rx) = mpsc::channel();
        let n = rows.len();
        for r in rows {
            let tx = tx.clone();
            let job = crate::ingest::StoreJob::new(r, move |o: Result<crate::ingest::Outcome>| {
                tx.send(o.is_ok()).unwrap();
            });
            db.submit(job.telling(linker.handle())).unwrap();
        }
        assert!(rx.iter().take(n).all(|ok| ok));
    }

    fn statuses(db: &Db) -> Vec<String> {
        db.read(|c| {
            Ok(c.prepare("SELECT status FROM events ORDER BY id")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?)
        })
        .unwrap()
    }

    /// Events linked as they are stored are reported like those the linker links: the window
    /// hears how many, and the Stripe job (`on_unlinked`) hears only of those left waiting
    /// for their customer.
    #[test]
    fn the_linker_reports_events_linked_as_they_were_stored() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let p = stripe(&db);
        let heard = Arc::new(Heard::default());
        let linker = heard.start(&db);
        // A payment with an email, one naming only a customer no one knows, one naming
        // nobody.
        store(
            &db,
            &linker,
            vec![
                row(
                    p,
                    "evt_a",
                    Some("cus_a"),
                    r#"{"subject":{"email":"a@example.com"}}"#,
                ),
                row(p, "evt_b", Some("cus_b"), "{}"),
                row(p, "evt_c", None, "{}"),
            ],
        );
        heard.wait_for(3, 1);
        let unlinked_calls = heard.unlinked_calls.load(Ordering::SeqCst);
        assert!(unlinked_calls >= 1);
        assert_eq!(statuses(&db), ["linked", "unlinked", "no_subject"]);
        // Events whose subjects are found nudge nothing.
        store(
            &db,
            &linker,
            vec![
                row(p, "evt_d", Some("cus_a"), "{}"),
                row(p, "evt_e", None, r#"{"subject":{"email":"e@example.com"}}"#),
            ],
        );
        heard.wait_for(5, 1);
        assert_eq!(heard.unlinked_calls.load(Ordering::SeqCst), unlinked_calls);
        assert_eq!(
            statuses(&db),
            ["linked", "unlinked", "no_subject", "linked", "linked"]
        );
        let subject_of = |id: &str| -> Option<i64> {
            db.read(|c| {
                Ok(c.query_row(
                    "SELECT subject_id FROM events WHERE event_id = ?1",
                    [id],
                    |r| r.get(0),
                )?)
            })
            .unwrap()
        };
        assert!(subject_of("evt_a").is_some());
        assert_eq!(subject_of("evt_d"), subject_of("evt_a"));
    }

    /// While an event stored earlier waits for the linker, a new one waits behind it, and the
    /// linker links both, in stored order: here a later payment must find the subject that
    /// the earlier customer event creates.
    #[test]
    fn a_new_event_waits_behind_events_stored_before_it_that_wait_for_the_linker() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let p = stripe(&db);
        // Left pending by an earlier run (a catch-up stored it, the app quit before linking).
        let earlier = events::NewEvent {
            event_type: "customer.created".into(),
            ..row(
                p,
                "evt_customer",
                Some("cus_x"),
                r#"{"subject":{"email":"x@example.com","is_profile":true}}"#,
            )
        };
        db.write(move |c| events::insert(c, &earlier)).unwrap();
        let later = row(p, "evt_payment", Some("cus_x"), "{}");
        crate::ingest::store_blocking(&db, later).unwrap();
        assert_eq!(statuses(&db), ["pending", "pending"]);
        assert_eq!(db.write(|c| link_round(c, 10)).unwrap().processed, 2);
        assert_eq!(statuses(&db), ["linked", "linked"]);
        let subjects: Vec<i64> = db
            .read(|c| {
                Ok(c.prepare("SELECT DISTINCT subject_id FROM events")?
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?)
            })
            .unwrap();
        assert_eq!(subjects.len(), 1);
        // With nothing waiting, the next one is linked as it is stored.
        let next = row(p, "evt_payment_2", Some("cus_x"), "{}");
        crate::ingest::store_blocking(&db, next).unwrap();
        assert_eq!(statuses(&db), ["linked", "linked", "linked"]);
    }

    /// The hooks hear about many events in few reports: the window refreshes on each.
    #[test]
    fn reports_are_gathered_rather_than_one_per_event() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let p = stripe(&db);
        let heard = Arc::new(Heard::default());
        let linker = heard.start(&db);
        for round in 0..4 {
            let rows = (0..50)
                .map(|i| row(p, &format!("evt_{round}_{i}"), None, "{}"))
                .collect();
            store(&db, &linker, rows);
        }
        heard.wait_for(200, 0);
        let calls = heard.linked_calls.load(Ordering::SeqCst);
        assert!((1..=10).contains(&calls), "{calls} reports for 200 events");
    }
}
