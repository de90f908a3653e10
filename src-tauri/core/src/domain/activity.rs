//! The Processing Activity Log: what each processor did with whose data, and when.

use std::path::Path;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::csv_out::CsvWriter;
use crate::domain::subjects::Subject;
use crate::error::{Error, Result};
use crate::ingest::model::normalise_email;
use crate::store::{events, replay_cache, subjects as subject_q, Db};
use crate::time::{parse_time, to_rfc3339, DayEdge};

/// A filter as the user writes it (CLI flags or the screen's filter bar). All parts combine.
#[derive(Debug, Default, Clone, Deserialize, TS)]
pub struct ActivityQuery {
    pub source: Option<String>,
    /// `customer.*`: `*` is the only wildcard. A `stripe:` prefix sets the source.
    pub event_type: Option<String>,
    /// An email (current or earlier) of a data subject, or part of a name or email.
    pub subject: Option<String>,
    /// RFC 3339 or YYYY-MM-DD, inclusive.
    pub since: Option<String>,
    /// RFC 3339, exclusive; a bare date includes that whole day.
    pub until: Option<String>,
    pub status: Option<String>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    pub limit: u32,
}

#[derive(Debug, Clone, Serialize, TS)]
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
    pub subject_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct ActivityPage {
    pub rows: Vec<Activity>,
    /// How many events match the filter in all.
    pub total: i64,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct ActivityDetail {
    pub activity: Activity,
    /// The minimised payload as stored (docs/data-minimisation.md).
    pub data: serde_json::Value,
    pub subject: Option<Subject>,
}

/// The filter in storage terms; `None` when it can match nothing (an unknown subject).
fn to_filter(db: &Db, q: &ActivityQuery) -> Result<Option<events::Filter>> {
    let mut source = q.source.clone().filter(|s| !s.trim().is_empty());
    let type_glob = q
        .event_type
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(|t| {
            let t = match t.split_once(':') {
                Some((src, rest)) => {
                    source.get_or_insert_with(|| src.to_owned());
                    rest
                }
                None => t,
            };
            to_glob(t)
        });
    let subject_ids = match q
        .subject
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(text) => {
            let ids: Vec<i64> = if text.contains('@') {
                let email = normalise_email(text);
                db.read(|c| match email {
                    Some(e) => Ok(subject_q::find_by_email(c, &e)?.map(|s| s.id)),
                    None => Ok(None),
                })?
                .into_iter()
                .collect()
            } else {
                db.read(|c| subject_q::search(c, text, 500))?
                    .into_iter()
                    .map(|s| s.id)
                    .collect()
            };
            if ids.is_empty() {
                return Ok(None);
            }
            Some(ids)
        }
    };
    let before = match &q.cursor {
        None => None,
        Some(c) => Some(parse_cursor(c)?),
    };
    Ok(Some(events::Filter {
        source,
        type_glob,
        subject_ids,
        processor_id: None,
        status: q.status.clone().filter(|s| !s.trim().is_empty()),
        since: optional_time(&q.since, DayEdge::Start)?,
        until: optional_time(&q.until, DayEdge::EndExclusive)?,
        before,
        limit: q.limit.clamp(1, 1_000_000),
    }))
}

fn optional_time(s: &Option<String>, edge: DayEdge) -> Result<Option<i64>> {
    s.as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_time(s, edge))
        .transpose()
}

fn parse_cursor(c: &str) -> Result<(i64, i64)> {
    c.split_once(':')
        .and_then(|(t, id)| Some((t.parse().ok()?, id.parse().ok()?)))
        .ok_or_else(|| Error::invalid("that paging cursor is not one this app gave out"))
}

fn view(r: events::ActivityRow) -> Activity {
    Activity {
        event_type: format!("{}:{}", r.source, r.event_type),
        id: r.id,
        source: r.source,
        event_id: r.event_id,
        occurred_at: to_rfc3339(r.occurred_at),
        received_at: to_rfc3339(r.received_at),
        subject_email: r.subject_email,
        status: r.status,
        processor_id: r.processor_id,
        subject_id: r.subject_id,
    }
}

/// Matching events, newest first (by the event's own time).
pub fn list(db: &Db, q: &ActivityQuery) -> Result<Vec<Activity>> {
    let Some(f) = to_filter(db, q)? else {
        return Ok(Vec::new());
    };
    Ok(db
        .read(|c| events::list(c, &f))?
        .into_iter()
        .map(view)
        .collect())
}

/// One page of matching events, the total count, and the cursor of the next page.
pub fn page(db: &Db, q: &ActivityQuery) -> Result<ActivityPage> {
    let Some(f) = to_filter(db, q)? else {
        return Ok(ActivityPage {
            rows: Vec::new(),
            total: 0,
            next_cursor: None,
        });
    };
    // One snapshot: the total and the rows agree while events arrive.
    let (rows, total) = db.read(|c| {
        let tx = c.unchecked_transaction()?;
        let total = events::count(&tx, &f)?;
        let rows = events::list(&tx, &f)?;
        tx.finish()?;
        Ok((rows, total))
    })?;
    let next_cursor = (rows.len() as u32 == f.limit)
        .then(|| rows.last().map(|r| format!("{}:{}", r.occurred_at, r.id)))
        .flatten();
    Ok(ActivityPage {
        rows: rows.into_iter().map(view).collect(),
        total,
        next_cursor,
    })
}

pub fn detail(db: &Db, id: i64) -> Result<ActivityDetail> {
    let (row, data) = db
        .read(|c| events::get(c, id))?
        .ok_or_else(|| Error::not_found(format!("no event with id {id}")))?;
    let subject = match row.subject_id {
        Some(sid) => db
            .read(|c| subject_q::get(c, sid))?
            .map(crate::domain::subjects::view),
        None => None,
    };
    Ok(ActivityDetail {
        activity: view(row),
        data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
        subject,
    })
}

/// Writes every event matching `q` (ignoring its limit and cursor) to `path` as CSV
/// (`csv_out`: a header row, CRLF line ends, cells defused).
/// Returns how many rows were written.
pub fn export_csv(db: &Db, q: &ActivityQuery, path: &Path) -> Result<usize> {
    let io = |e: std::io::Error| Error::Io(format!("cannot write {}: {e}", path.display()));
    crate::files::write_private(path, |f| {
        let mut out = CsvWriter::new(f);
        out.row([
            "occurred_at",
            "received_at",
            "source",
            "event_type",
            "event_id",
            "subject_email",
            "status",
        ])
        .map_err(io)?;
        let mut q = q.clone();
        q.cursor = None;
        q.limit = 10_000;
        let mut written = 0;
        loop {
            let page = page(db, &q)?;
            for a in &page.rows {
                out.row([
                    a.occurred_at.as_str(),
                    a.received_at.as_str(),
                    a.source.as_str(),
                    a.event_type.as_str(),
                    a.event_id.as_str(),
                    a.subject_email.as_deref().unwrap_or(""),
                    a.status.as_str(),
                ])
                .map_err(io)?;
            }
            written += page.rows.len();
            match page.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
        out.finish().map_err(io)?;
        Ok(written)
    })
}

/// How long past the activity-log retention a deleted event's id stays in the replay cache
/// (`replay_cache`), so that a replay of it is answered `duplicate` rather than stored again.
/// What bounds a replay: with a signed timestamp (Stripe; generic webhook processors added
/// with `--timestamp`) a captured delivery is refused on its own once older than the
/// tolerance (300 s), and the cache only has to catch the sender re-sending an old event with
/// a fresh signature (a resend, a retry, Stripe's 30-day catch-up). Without timestamps this
/// horizon is the bound: a delivery received more than retention + a year ago could be stored
/// again. Entries are 16-byte keyed hashes; without a retention setting they are kept.
pub(crate) const REPLAY_HORIZON_DAYS: i64 = 365;

/// How fast the retention purge deletes. Each deleted event dirties a page of the log's table,
/// of each of its indexes and of the replay cache, most of them pages no other deleted event
/// shares; the commit writes and syncs them all, and a webhook that arrives meanwhile waits
/// for it. At a million events, 8 per transaction kept the receiver's p99 acknowledgement at
/// 28 ms, 2 at 9 ms; at ten million, 2 still gave 22 ms (docs/benchmarks.md, "The app at
/// scale").
#[derive(Clone, Copy, Debug)]
pub struct PurgePace {
    /// Events deleted per transaction.
    pub rows: usize,
    /// At most this many events per second, whatever the disk's speed (0: no cap).
    pub max_per_s: u32,
    /// Whether each transaction waits for the disk (an fsync) when it commits alone. Not by
    /// default: a purge that a power cut undoes deletes the same events again (see
    /// `store::Job::must_sync`).
    pub synced: bool,
}

impl Default for PurgePace {
    fn default() -> PurgePace {
        PurgePace {
            rows: 2,
            max_per_s: 0,
            synced: false,
        }
    }
}

/// Between two of its transactions the purge leaves the writer to the receiver's group commit
/// at least this long, and at least twice as long as its last transaction took: the purge
/// takes at most a third of the writer's time, whatever the disk's speed.
const PURGE_YIELD: std::time::Duration = std::time::Duration::from_millis(2);

/// Deletes events received more than `days` ago (the activity-log retention setting), and
/// the replay-cache entries older than that by [`REPLAY_HORIZON_DAYS`], in small
/// transactions with a pause after each for the receiver. The deleted events' ids go into the
/// replay cache (a trigger, migrations/0011_replay_cache.sql). Returns how many events were
/// deleted.
pub fn purge_older_than(db: &Db, days: u32, now: i64) -> Result<usize> {
    purge_at_pace(db, days, now, PurgePace::default(), &mut |_, _| {})
}

/// [`purge_older_than`] at a given pace (the scale bench tries several). `on_txn` is told, for
/// each transaction that deleted events, how long its statements ran on the writer and how
/// long the purge waited for it in all (the queue, the statements, the commit).
pub fn purge_at_pace(
    db: &Db,
    days: u32,
    now: i64,
    pace: PurgePace,
    on_txn: &mut dyn FnMut(std::time::Duration, std::time::Duration),
) -> Result<usize> {
    let before = now - i64::from(days) * 86_400_000;
    let horizon = before - REPLAY_HORIZON_DAYS * 86_400_000;
    let rows = pace.rows.max(1);
    let per_txn = match pace.max_per_s {
        0 => std::time::Duration::ZERO,
        n => std::time::Duration::from_secs_f64(rows as f64 / f64::from(n)),
    };
    let pause = |took: std::time::Duration| {
        std::thread::sleep(PURGE_YIELD.max(took * 2).max(per_txn.saturating_sub(took)))
    };
    let mut deleted = 0;
    loop {
        let t = std::time::Instant::now();
        let delete = move |c: &rusqlite::Connection| {
            let t = std::time::Instant::now();
            Ok((
                events::delete_received_before(c, before, rows)?,
                t.elapsed(),
            ))
        };
        let (n, ran) = if pace.synced {
            db.write(delete)?
        } else {
            db.write_unsynced(delete)?
        };
        if n == 0 {
            break;
        }
        deleted += n;
        let took = t.elapsed();
        on_txn(ran, took);
        pause(took);
    }
    loop {
        let t = std::time::Instant::now();
        if db.write_unsynced(move |c| replay_cache::delete_seen_before(c, horizon, 2_000))? == 0 {
            break;
        }
        pause(t.elapsed());
    }
    db.write(events::forget_empty_counts)?;
    Ok(deleted)
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
    use super::*;

    #[test]
    fn the_purge_deletes_only_what_is_past_retention_at_its_pace() {
        const DAY: i64 = 86_400_000;
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let now = 400 * DAY;
        db.write(move |c| {
            let p = crate::store::processors::insert(
                c,
                &crate::store::processors::NewProcessor::bare_stripe("e"),
            )?;
            // 11 events 300 days old or more, 4 of the last week.
            for (k, days_ago) in (0..11).map(|k| 300 + k).chain(0..4).enumerate() {
                let at = now - days_ago * DAY;
                events::insert(
                    c,
                    &events::NewEvent {
                        processor_id: p,
                        source: "stripe".into(),
                        event_id: format!("evt_{k}"),
                        event_type: "customer.updated".into(),
                        occurred_at: at - 500,
                        received_at: at,
                        livemode: None,
                        status: events::status::PENDING,
                        object_id: None,
                        customer_ref: None,
                        observed: String::new(),
                        data: "{}".into(),
                        replay_hash: None,
                    },
                )?;
            }
            Ok(())
        })
        .unwrap();
        let pace = PurgePace {
            rows: 3,
            max_per_s: 1_000,
            synced: true,
        };
        let mut txns = 0;
        let deleted = purge_at_pace(&db, 30, now, pace, &mut |_, _| txns += 1).unwrap();
        assert_eq!((deleted, txns), (11, 4), "3 + 3 + 3 + 2 events");
        let left: Vec<i64> = db
            .read(|c| {
                let mut st = c.prepare("SELECT received_at FROM events ORDER BY received_at")?;
                let rows = st.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .unwrap();
        assert_eq!(
            left,
            (0..4).rev().map(|d| now - d * DAY).collect::<Vec<_>>()
        );
        // Nothing more to do: no transaction deletes anything.
        assert_eq!(purge_older_than(&db, 30, now).unwrap(), 0);
    }

    #[test]
    fn only_star_is_a_wildcard() {
        assert_eq!(to_glob("customer.*"), "customer.*");
        assert_eq!(to_glob("a?[b]"), "a[?][[]b]");
    }
}
