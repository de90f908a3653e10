//! Queries on `events`, the Processing Activity Log.

use rusqlite::{params, params_from_iter, types::Value, Connection};
use serde::Serialize;

use crate::error::Result;

/// Processing states of an event.
pub mod status {
    /// Stored; not yet linked to a data subject.
    pub(crate) const PENDING: &str = "pending";
    pub const LINKED: &str = "linked";
    /// Names a customer the app has not seen yet; linked when that customer arrives.
    pub const UNLINKED: &str = "unlinked";
    /// Carries no personal data (products, payouts).
    pub const NO_SUBJECT: &str = "no_subject";
    /// A thin event: only a notification; its payload is fetched through the Stripe API.
    pub(crate) const AWAITING_FETCH: &str = "awaiting_fetch";
}

pub struct NewEvent {
    pub processor_id: i64,
    pub source: String,
    pub event_id: String,
    pub event_type: String,
    pub occurred_at: i64,
    pub received_at: i64,
    pub livemode: Option<bool>,
    pub status: &'static str,
    pub object_id: Option<String>,
    pub customer_ref: Option<String>,
    pub observed: String,
    pub data: String,
    /// The keyed hash of (processor, event id) left in `replay_cache` when the event is
    /// deleted (`HashKey::replay`); `None` only where no key is at hand (tests, benches).
    pub replay_hash: Option<[u8; 16]>,
}

/// What linking gives an event's row (`ingest::link::decide`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    pub status: &'static str,
    pub subject_id: Option<i64>,
    /// The subject's current address (`events.subject_email`).
    pub subject_email: Option<String>,
}

/// Inserts unless (processor, event id) is stored already. Returns whether it was new.
pub fn insert(conn: &Connection, e: &NewEvent) -> Result<bool> {
    insert_stored(conn, e, None, None)
}

/// The payload's stored form (`store/payload.rs`) of `e`, to compute before its write job
/// reaches the writer thread, and pass to [`insert_stored`].
pub(crate) fn stored_payload(e: &NewEvent) -> Result<super::payload::Stored> {
    super::payload::encode(
        &e.data,
        super::payload::Columns {
            object_id: e.object_id.as_deref(),
            customer_ref: e.customer_ref.as_deref(),
            observed: &e.observed,
        },
    )
}

/// [`insert`] with the payload's stored form computed beforehand ([`stored_payload`] of this
/// very row), or `None` to compute it here; and, if `link` is given, linked already (its
/// status and subject in place of the row's status).
pub(crate) fn insert_stored(
    conn: &Connection,
    e: &NewEvent,
    stored: Option<&super::payload::Stored>,
    link: Option<&Link>,
) -> Result<bool> {
    let fresh;
    let stored = match stored {
        Some(s) => s,
        None => {
            fresh = stored_payload(e)?;
            &fresh
        }
    };
    let n = conn
        .prepare_cached(
            "INSERT INTO events (processor_id, source, event_id, event_type, occurred_at,
                 received_at, livemode, status, object_id, customer_ref, observed, data,
                 replay_hash, subject_id, subject_email)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             ON CONFLICT (processor_id, event_id) DO NOTHING",
        )?
        .execute(params![
            e.processor_id,
            e.source,
            e.event_id,
            e.event_type,
            e.occurred_at,
            e.received_at,
            e.livemode,
            link.map_or(e.status, |l| l.status),
            e.object_id,
            e.customer_ref,
            e.observed,
            stored,
            e.replay_hash.as_ref().map(|h| &h[..]),
            link.and_then(|l| l.subject_id),
            link.and_then(|l| l.subject_email.as_deref()),
        ])?;
    Ok(n == 1)
}

/// Whether (processor, event id) is stored.
pub(crate) fn exists(conn: &Connection, processor_id: i64, event_id: &str) -> Result<bool> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached("SELECT 1 FROM events WHERE processor_id = ?1 AND event_id = ?2")?
        .query_row(params![processor_id, event_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Whether any event waits for the linker (the first of [`pending`], found the same way).
pub(crate) fn any_pending(conn: &Connection) -> Result<bool> {
    let mut stmt = conn.prepare_cached(&pending_sql(1))?;
    Ok(stmt.exists([])?)
}

/// An event waiting for the linking step.
pub struct Pending {
    pub id: i64,
    pub processor_id: i64,
    pub occurred_at: i64,
    pub event_type: String,
    pub customer_ref: Option<String>,
    /// The payload without what the row's columns hold (`payload::read_without_columns`):
    /// its `subject` and `related` are all the linker reads.
    pub data: String,
}

/// The linker's query. Pinned to the partial index of the events still to process: their
/// rows in stored order, whatever the table's size. Left to the planner, whose statistics
/// say only how many statuses there are (not that `pending` is rare), it sorts every pending
/// row or walks the table from its first row.
pub(super) fn pending_sql(limit: u32) -> String {
    format!(
        "SELECT id, processor_id, event_type, occurred_at, customer_ref, data FROM events
         INDEXED BY events_to_process
         WHERE status IN ('pending', 'awaiting_fetch') AND status = 'pending'
         ORDER BY id LIMIT {limit}"
    )
}

pub fn pending(conn: &Connection, limit: u32) -> Result<Vec<Pending>> {
    // The limit is written into the SQL, not bound: SQLite (3.50) recompiles a statement
    // whenever a parameter in its LIMIT is bound, and this runs after every batch of stored
    // events, in the writer thread. One cached statement per limit value.
    let mut stmt = conn.prepare_cached(&pending_sql(limit))?;
    let rows = stmt.query_map([], |r| {
        Ok(Pending {
            id: r.get(0)?,
            processor_id: r.get(1)?,
            event_type: r.get(2)?,
            occurred_at: r.get(3)?,
            customer_ref: r.get(4)?,
            data: super::payload::read_without_columns(r, 5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn set_outcome(
    conn: &Connection,
    id: i64,
    status: &str,
    subject_id: Option<i64>,
    subject_email: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE events SET status = ?2, subject_id = ?3, subject_email = ?4 WHERE id = ?1",
    )?
    .execute(params![id, status, subject_id, subject_email])?;
    Ok(())
}

/// Links the events that named `customer_ref` before its subject was known.
pub(crate) fn link_waiting(
    conn: &Connection,
    processor_id: i64,
    customer_ref: &str,
    subject_id: i64,
    subject_email: &str,
) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE events SET status = 'linked', subject_id = ?3, subject_email = ?4
             WHERE processor_id = ?1 AND customer_ref = ?2 AND subject_id IS NULL
               AND customer_ref IS NOT NULL AND status = 'unlinked'",
        )?
        .execute(params![
            processor_id,
            customer_ref,
            subject_id,
            subject_email
        ])?)
}

/// The subject of an already-linked event about one of `object_ids` (a dispute's charge).
pub(crate) fn subject_of_objects(
    conn: &Connection,
    processor_id: i64,
    object_ids: &[String],
) -> Result<Option<i64>> {
    use rusqlite::OptionalExtension;
    let mut stmt = conn.prepare_cached(
        "SELECT subject_id FROM events
         WHERE processor_id = ?1 AND object_id = ?2 AND subject_id IS NOT NULL LIMIT 1",
    )?;
    for id in object_ids {
        if let Some(s) = stmt
            .query_row(params![processor_id, id], |r| r.get(0))
            .optional()?
        {
            return Ok(Some(s));
        }
    }
    Ok(None)
}

/// One row of the activity log as the CLI and the screens show it.
#[derive(Debug, Clone, Serialize)]
pub struct ActivityRow {
    pub id: i64,
    pub processor_id: i64,
    pub source: String,
    pub event_type: String,
    pub event_id: String,
    pub occurred_at: i64,
    pub received_at: i64,
    pub subject_id: Option<i64>,
    pub subject_email: Option<String>,
    pub status: String,
}

/// The columns [`activity_row`] reads, in order.
const ACTIVITY_COLUMNS: &str = "id, processor_id, source, event_type, event_id, occurred_at, \
     received_at, subject_id, subject_email, status";

fn activity_row(r: &rusqlite::Row) -> rusqlite::Result<ActivityRow> {
    Ok(ActivityRow {
        id: r.get(0)?,
        processor_id: r.get(1)?,
        source: r.get(2)?,
        event_type: r.get(3)?,
        event_id: r.get(4)?,
        occurred_at: r.get(5)?,
        received_at: r.get(6)?,
        subject_id: r.get(7)?,
        subject_email: r.get(8)?,
        status: r.get(9)?,
    })
}

/// Filters, all optional and combined with AND. Times are unix ms, `until` exclusive.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub source: Option<String>,
    /// An SQLite GLOB over the type without its source prefix.
    pub type_glob: Option<String>,
    /// Any of these subjects (a name search can match several).
    pub subject_ids: Option<Vec<i64>>,
    pub processor_id: Option<i64>,
    pub status: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Keyset paging: only rows before this (occurred_at, id), in the list's order.
    pub before: Option<(i64, i64)>,
    pub limit: u32,
}

const DAY_MS: i64 = 86_400_000;

#[cfg(test)]
thread_local! {
    /// The statements [`list`] and [`count`] ran on this thread, with their arguments (the
    /// query-plan tests).
    static RAN: std::cell::RefCell<Vec<(String, Vec<Value>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn ran(_sql: &str, _args: &[Value]) {
    #[cfg(test)]
    RAN.with(|r| r.borrow_mut().push((_sql.to_owned(), _args.to_vec())));
}

/// The UTC day of a time, as the triggers of migrations/0015_scale.sql count it (floor).
fn day_of(t: i64) -> i64 {
    t.div_euclid(DAY_MS)
}

/// A (source, type) pair seen (`event_types`).
#[derive(Debug, Clone)]
struct TypeKey {
    id: i64,
    source: String,
    event_type: String,
}

/// The (source, type) pairs the filter's source and type select: a wildcard expanded to the
/// exact types seen. `None` when the filter names neither (every type).
fn selected_types(conn: &Connection, f: &Filter) -> Result<Option<Vec<TypeKey>>> {
    if f.source.is_none() && f.type_glob.is_none() {
        return Ok(None);
    }
    let mut st = conn.prepare_cached(
        "SELECT id, source, event_type FROM event_types
         WHERE (?1 IS NULL OR source = ?1) AND (?2 IS NULL OR event_type GLOB ?2)
         ORDER BY id",
    )?;
    let rows = st.query_map(params![f.source, f.type_glob], |r| {
        Ok(TypeKey {
            id: r.get(0)?,
            source: r.get(1)?,
            event_type: r.get(2)?,
        })
    })?;
    Ok(Some(rows.collect::<rusqlite::Result<_>>()?))
}

/// A WHERE clause (after `WHERE 1`) under construction, with its arguments, numbered from
/// `base + 1` (the arguments of the statement's earlier parts come first).
#[derive(Default)]
struct Where {
    sql: String,
    args: Vec<Value>,
    base: usize,
}

impl Where {
    /// Appends ` AND {left} ?N`.
    fn and(&mut self, left: &str, v: Value) {
        let n = self.arg(v);
        self.sql.push_str(&format!(" AND {left} ?{n}"));
    }

    fn arg(&mut self, v: Value) -> usize {
        self.args.push(v);
        self.base + self.args.len()
    }
}

/// What one query of a filter reads: the time window (after the filter's own range) and
/// either one exact (source, type) pair or the filter's source and type as row tests.
#[derive(Clone, Copy)]
struct Part<'a> {
    pair: Option<&'a TypeKey>,
    since: Option<i64>,
    until: Option<i64>,
    with_cursor: bool,
}

/// The WHERE clause of one part of filter `f`. Which index answers follows from it: a pair
/// is a range of `events_by_type`, a subject a range of `events_by_subject` (the type and
/// source then tested on its rows: `+` keeps SQLite off their index), a status a range of
/// `events_by_status`, else the time index.
fn where_of(f: &Filter, p: Part, base: usize) -> Where {
    let mut w = Where {
        base,
        ..Where::default()
    };
    let plus = if f.subject_ids.is_some() { "+" } else { "" };
    match p.pair {
        Some(t) => {
            w.and("source =", Value::Text(t.source.clone()));
            w.and("event_type =", Value::Text(t.event_type.clone()));
        }
        None => {
            if let Some(s) = &f.source {
                w.and(&format!("{plus}source ="), Value::Text(s.clone()));
            }
            if let Some(g) = &f.type_glob {
                w.and(&format!("{plus}event_type GLOB"), Value::Text(g.clone()));
            }
        }
    }
    if let Some(id) = f.processor_id {
        w.and("+processor_id =", Value::Integer(id));
    }
    if let Some(s) = &f.status {
        // Tested on the rows of a type's range or a subject's; a range of its own otherwise.
        let left = if p.pair.is_some() || f.subject_ids.is_some() {
            "+status ="
        } else {
            "status ="
        };
        w.and(left, Value::Text(s.clone()));
    }
    if let Some(t) = p.since {
        w.and("occurred_at >=", Value::Integer(t));
    }
    if let Some(t) = p.until {
        w.and("occurred_at <", Value::Integer(t));
    }
    if let Some(ids) = &f.subject_ids {
        let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        w.sql
            .push_str(&format!(" AND subject_id IN ({})", list.join(",")));
    }
    if let (true, Some((t, id))) = (p.with_cursor, f.before) {
        let a = w.arg(Value::Integer(t));
        let b = w.arg(Value::Integer(id));
        w.sql.push_str(&format!(
            " AND occurred_at <= ?{a} AND (occurred_at < ?{a} OR id < ?{b})"
        ));
    }
    w
}

/// Matching rows, newest first (by `occurred_at`, then id), at most `f.limit`, after
/// `f.before`. Cost grows with the page: a type or wildcard (or a source) reads at most one
/// page from each of its types' index ranges and merges them; a subject reads the subject's
/// range; a status or a date range alone read their own index range.
pub fn list(conn: &Connection, f: &Filter) -> Result<Vec<ActivityRow>> {
    let types = match &f.subject_ids {
        // A subject's range is small: the type is tested on its rows.
        Some(_) => None,
        None => selected_types(conn, f)?,
    };
    let Some(types) = types else {
        let w = where_of(
            f,
            Part {
                pair: None,
                since: f.since,
                until: f.until,
                with_cursor: true,
            },
            0,
        );
        return query_rows(
            conn,
            &format!("SELECT {ACTIVITY_COLUMNS} FROM events WHERE 1{}", w.sql),
            w.args,
            f.limit,
        );
    };
    if types.is_empty() {
        return Ok(Vec::new());
    }
    // A status is tested on each type's rows: where it is rare, the counts say from which
    // day on the page's rows are, so that no range is walked further back than that.
    let since = match &f.status {
        Some(_) => match page_floor(conn, f, &types)? {
            Floor::Empty => return Ok(Vec::new()),
            Floor::From(t) => Some(f.since.map_or(t, |s| s.max(t))),
            Floor::None => f.since,
        },
        None => f.since,
    };
    let mut args: Vec<Value> = Vec::new();
    let mut arms = Vec::with_capacity(types.len());
    for t in &types {
        let mut w = where_of(
            f,
            Part {
                pair: Some(t),
                since,
                until: f.until,
                with_cursor: true,
            },
            args.len(),
        );
        args.append(&mut w.args);
        arms.push(format!(
            "SELECT * FROM (SELECT {ACTIVITY_COLUMNS} FROM events WHERE 1{}
             ORDER BY occurred_at DESC, id DESC LIMIT {})",
            w.sql, f.limit
        ));
    }
    let sql = format!("SELECT * FROM ({}) WHERE 1", arms.join(" UNION ALL "));
    query_rows(conn, &sql, args, f.limit)
}

fn query_rows(
    conn: &Connection,
    select: &str,
    mut args: Vec<Value>,
    limit: u32,
) -> Result<Vec<ActivityRow>> {
    args.push(Value::Integer(limit.into()));
    let sql = format!(
        "{select} ORDER BY occurred_at DESC, id DESC LIMIT ?{}",
        args.len()
    );
    ran(&sql, &args);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), activity_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

enum Floor {
    /// Nothing matches.
    Empty,
    /// The page's rows are all at or after this time.
    From(i64),
    /// Not known from the counts.
    None,
}

/// From the per-day counts: the start of the latest day such that the days from it up to
/// the cursor (or `until`) hold at least a page of matches, or of the first day with any.
fn page_floor(conn: &Connection, f: &Filter, types: &[TypeKey]) -> Result<Floor> {
    let hi = match (f.before, f.until) {
        (Some((t, _)), _) => day_of(t),
        (None, Some(u)) => day_of(u - 1),
        (None, None) => i64::MAX,
    };
    let lo = f.since.map_or(i64::MIN, day_of);
    let ids: Vec<String> = types.iter().map(|t| t.id.to_string()).collect();
    let mut st = conn.prepare_cached(&format!(
        "SELECT day, sum(n) FROM event_counts
         WHERE day >= ?1 AND day <= ?2 AND status = ?3 AND type_id IN ({})
         GROUP BY day HAVING sum(n) > 0 ORDER BY day DESC",
        ids.join(",")
    ))?;
    let mut rows = st.query(params![lo, hi, f.status])?;
    // The top day's count may include rows after the cursor or `until`: not counted.
    let partial_top = f.before.is_some() || f.until.is_some_and(|u| u.rem_euclid(DAY_MS) != 0);
    let (mut seen, mut floor) = (0i64, None);
    while let Some(r) = rows.next()? {
        let (day, n): (i64, i64) = (r.get(0)?, r.get(1)?);
        if !(partial_top && day == hi) {
            seen += n;
        }
        floor = Some(day);
        if seen >= i64::from(f.limit) {
            break;
        }
    }
    Ok(match floor {
        None => Floor::Empty,
        Some(d) => match d.checked_mul(DAY_MS) {
            Some(t) => Floor::From(t),
            None => Floor::None,
        },
    })
}

/// How many rows match the filter (ignoring paging). Exact, and without reading the rows:
/// whole days come from the per-day counts (`event_counts`), only the partial days at the
/// ends of a range (a local day is not a UTC day) from the index. A subject's count reads
/// the subject's index range.
pub fn count(conn: &Connection, f: &Filter) -> Result<i64> {
    if f.subject_ids.is_some() || f.processor_id.is_some() {
        return index_count(conn, f, None, f.since, f.until);
    }
    let types = selected_types(conn, f)?;
    if types.as_ref().is_some_and(|t| t.is_empty()) {
        return Ok(0);
    }
    let types = types.as_deref();
    // Whole days [lo, hi).
    let lo = f
        .since
        .map(|s| day_of(s) + i64::from(s.rem_euclid(DAY_MS) != 0));
    let hi = f.until.map(day_of);
    if let (Some(l), Some(h)) = (lo, hi) {
        if l >= h {
            return index_count(conn, f, types, f.since, f.until);
        }
    }
    let mut w = Where::default();
    if let Some(l) = lo {
        w.and("day >=", Value::Integer(l));
    }
    if let Some(h) = hi {
        w.and("day <", Value::Integer(h));
    }
    if let Some(s) = &f.status {
        w.and("status =", Value::Text(s.clone()));
    }
    if let Some(t) = types {
        let ids: Vec<String> = t.iter().map(|t| t.id.to_string()).collect();
        w.sql
            .push_str(&format!(" AND type_id IN ({})", ids.join(",")));
    }
    let sql = format!(
        "SELECT coalesce(sum(n), 0) FROM event_counts WHERE 1{}",
        w.sql
    );
    ran(&sql, &w.args);
    let whole: i64 = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(w.args), |r| r.get(0))?;
    let mut edges = 0;
    if let (Some(s), Some(l)) = (f.since, lo) {
        if s < l * DAY_MS {
            edges += index_count(conn, f, types, Some(s), Some(l * DAY_MS))?;
        }
    }
    if let (Some(u), Some(h)) = (f.until, hi) {
        if u > h * DAY_MS {
            edges += index_count(conn, f, types, Some(h * DAY_MS), Some(u))?;
        }
    }
    Ok(whole + edges)
}

/// Counts from the index: one range per type where the types are known, else the
/// filter's own tests.
fn index_count(
    conn: &Connection,
    f: &Filter,
    types: Option<&[TypeKey]>,
    since: Option<i64>,
    until: Option<i64>,
) -> Result<i64> {
    let part = |pair| Part {
        pair,
        since,
        until,
        with_cursor: false,
    };
    let mut total = 0;
    let mut one = |w: Where| -> Result<()> {
        let sql = format!("SELECT count(*) FROM events WHERE 1{}", w.sql);
        ran(&sql, &w.args);
        total += conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(w.args), |r| r.get::<_, i64>(0))?;
        Ok(())
    };
    match types {
        Some(types) => {
            for t in types {
                one(where_of(f, part(Some(t)), 0))?;
            }
        }
        None => one(where_of(f, part(None), 0))?,
    }
    Ok(total)
}

/// Events per UTC day of when they occurred (not when they arrived: a catch-up or backfill
/// brings old events today), since `since_ms`: (day number since the epoch, count). From the
/// per-day counts.
pub(crate) fn occurred_per_day(conn: &Connection, since_ms: i64) -> Result<Vec<(i64, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT day, sum(n) FROM event_counts WHERE day >= ?1
         GROUP BY day HAVING sum(n) > 0 ORDER BY day",
    )?;
    let rows = stmt.query_map([day_of(since_ms)], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Deletes at most `limit` of the events received before `before_ms` (the activity-log
/// retention), oldest first per processor. Returns how many; 0 when none is left.
pub(crate) fn delete_received_before(
    conn: &Connection,
    before_ms: i64,
    limit: usize,
) -> Result<usize> {
    let processors: Vec<i64> = conn
        .prepare_cached("SELECT id FROM processors ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    // By processor: a range of `events_by_processor` (processor, received_at) each.
    let mut st = conn.prepare_cached(
        "DELETE FROM events WHERE id IN (
             SELECT id FROM events WHERE processor_id = ?1 AND received_at < ?2
             ORDER BY received_at LIMIT ?3)",
    )?;
    let mut deleted = 0;
    for p in processors {
        if deleted >= limit {
            break;
        }
        let left = i64::try_from(limit - deleted).unwrap_or(i64::MAX);
        deleted += st.execute(params![p, before_ms, left])?;
    }
    Ok(deleted)
}

/// Forgets the per-day counts that purges and erasures brought to zero.
pub(crate) fn forget_empty_counts(conn: &Connection) -> Result<usize> {
    Ok(conn.execute("DELETE FROM event_counts WHERE n <= 0", [])?)
}

/// Every stored payload as its JSON text. For checks of what the database file holds: a byte
/// scan of the file does not see into a compressed payload (`store/payload.rs`).
pub fn payload_texts(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn.prepare(&format!(
        "SELECT {} FROM events ORDER BY id",
        super::payload::COLUMNS
    ))?;
    let rows = st.query_map([], |r| super::payload::read(r, 0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One event with its minimised payload.
pub fn get(conn: &Connection, id: i64) -> Result<Option<(ActivityRow, String)>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row(
            &format!(
                "SELECT {ACTIVITY_COLUMNS}, {} FROM events WHERE id = ?1",
                super::payload::COLUMNS
            ),
            [id],
            |r| Ok((activity_row(r)?, super::payload::read(r, 10)?)),
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{processors, requests, stripe_sync, subjects, Db};

    const DAY: i64 = DAY_MS;

    /// Events of four types over ten days (some before 1970), four subjects, all statuses;
    /// one subject deleted (its events keep their email, no subject).
    fn sample(db: &Db) {
        db.write(|c| {
            let p = processors::insert(c, &processors::NewProcessor::bare_stripe("e"))?;
            let subjects: Vec<i64> = (0..4)
                .map(|i| subjects::create(c, &format!("s{i}@example.com"), None, 0))
                .collect::<Result<_>>()?;
            let types = [
                "customer.created",
                "customer.updated",
                "charge.succeeded",
                "invoice.paid",
            ];
            for k in 0..400i64 {
                let t = types[(k % 4) as usize];
                let e = NewEvent {
                    processor_id: p,
                    source: if k % 9 == 0 { "shopify" } else { "stripe" }.into(),
                    event_id: format!("evt_{k}"),
                    event_type: t.into(),
                    occurred_at: (k - 40) * DAY / 37 + k % 7 * 1000,
                    received_at: k * 10,
                    livemode: None,
                    status: status::PENDING,
                    object_id: Some(format!("obj_{k}")),
                    customer_ref: Some(format!("cus_{}", k % 5)),
                    observed: String::new(),
                    data: "{}".into(),
                    replay_hash: None,
                };
                insert(c, &e)?;
                let id = c.last_insert_rowid();
                match k % 5 {
                    4 => set_outcome(c, id, status::UNLINKED, None, None)?,
                    3 if k % 2 == 0 => set_outcome(c, id, status::NO_SUBJECT, None, None)?,
                    s => {
                        let sid = subjects[s as usize % 4];
                        let email = format!("s{}@example.com", s % 4);
                        set_outcome(c, id, status::LINKED, Some(sid), Some(&email))?
                    }
                }
            }
            requests::delete_subject(c, subjects[2])?;
            Ok(())
        })
        .unwrap();
    }

    fn filters() -> Vec<(&'static str, Filter)> {
        let f = |g: fn(&mut Filter)| {
            let mut f = Filter {
                limit: 7,
                ..Filter::default()
            };
            g(&mut f);
            f
        };
        vec![
            ("none", f(|_| {})),
            ("type", f(|f| f.type_glob = Some("charge.succeeded".into()))),
            ("wildcard", f(|f| f.type_glob = Some("customer.*".into()))),
            ("no such type", f(|f| f.type_glob = Some("payout.*".into()))),
            ("source", f(|f| f.source = Some("shopify".into()))),
            (
                "range",
                f(|f| {
                    f.since = Some(DAY / 3);
                    f.until = Some(5 * DAY + 77);
                }),
            ),
            (
                "within a day",
                f(|f| {
                    f.since = Some(2 * DAY + 5);
                    f.until = Some(2 * DAY + DAY / 2);
                }),
            ),
            ("since, before 1970", f(|f| f.since = Some(-DAY / 2 - 3))),
            ("until", f(|f| f.until = Some(3 * DAY + 1))),
            ("subject", f(|f| f.subject_ids = Some(vec![1]))),
            ("subjects", f(|f| f.subject_ids = Some(vec![1, 2]))),
            ("status", f(|f| f.status = Some("unlinked".into()))),
            (
                "wildcard + range + source",
                f(|f| {
                    f.type_glob = Some("customer.*".into());
                    f.source = Some("stripe".into());
                    f.since = Some(DAY + 1);
                    f.until = Some(6 * DAY - 1);
                }),
            ),
            (
                "type + subject",
                f(|f| {
                    f.type_glob = Some("invoice.*".into());
                    f.subject_ids = Some(vec![2]);
                }),
            ),
            (
                "status + wildcard",
                f(|f| {
                    f.type_glob = Some("c*".into());
                    f.status = Some("no_subject".into());
                }),
            ),
            (
                "status + type, none match",
                f(|f| {
                    f.type_glob = Some("customer.created".into());
                    f.status = Some("no_subject".into());
                }),
            ),
            (
                "status + range",
                f(|f| {
                    f.status = Some("linked".into());
                    f.since = Some(DAY + 1);
                }),
            ),
            ("page 2", f(|f| f.before = Some((3 * DAY, 200)))),
            (
                "wildcard + status, page 2",
                f(|f| {
                    f.type_glob = Some("*".into());
                    f.status = Some("linked".into());
                    f.until = Some(7 * DAY + 9);
                    f.before = Some((4 * DAY, 250));
                }),
            ),
        ]
    }

    /// Every row matching `f`, by brute force over the whole table.
    fn brute(c: &Connection, f: &Filter, with_cursor: bool) -> Vec<i64> {
        let mut st = c
            .prepare("SELECT id, source, event_type, subject_id, status, occurred_at FROM events")
            .unwrap();
        let mut rows: Vec<(i64, i64)> = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })
            .unwrap()
            .map(|r| r.unwrap())
            .filter(|(id, src, ty, subject, st, t)| {
                let glob = |g: &str| match g.strip_suffix('*') {
                    Some(prefix) => ty.starts_with(prefix),
                    None => ty == g,
                };
                f.source.as_ref().is_none_or(|s| s == src)
                    && f.type_glob.as_deref().is_none_or(glob)
                    && f.subject_ids
                        .as_ref()
                        .is_none_or(|ids| subject.is_some_and(|s| ids.contains(&s)))
                    && f.status.as_ref().is_none_or(|s| s == st)
                    && f.since.is_none_or(|s| *t >= s)
                    && f.until.is_none_or(|u| *t < u)
                    && (!with_cursor || f.before.is_none_or(|b| (*t, *id) < b))
            })
            .map(|(id, .., t)| (t, id))
            .collect();
        rows.sort_by(|a, b| b.cmp(a));
        rows.into_iter().map(|r| r.1).collect()
    }

    /// The total is exact (whole days from the counts, partial days from the index) and each
    /// page is exactly the next rows of the brute-force answer, also after linking moved
    /// events between statuses, a purge and an erasure deleted some.
    #[test]
    fn totals_and_pages_match_a_count_of_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        sample(&db);
        let check = |when: &str| {
            db.read(|c| {
                for (name, f) in filters() {
                    let all = brute(c, &f, false);
                    assert_eq!(count(c, &f)?, all.len() as i64, "{when}: total of {name}");
                    // Walk every page.
                    let mut f = f.clone();
                    let expected = brute(c, &f, true);
                    let mut got = Vec::new();
                    loop {
                        let page = list(c, &f)?;
                        got.extend(page.iter().map(|r| r.id));
                        match page.last() {
                            Some(r) if page.len() == f.limit as usize => {
                                f.before = Some((r.occurred_at, r.id))
                            }
                            _ => break,
                        }
                    }
                    assert_eq!(got, expected, "{when}: pages of {name}");
                }
                Ok(())
            })
            .unwrap();
        };
        check("stored");
        db.write(|c| {
            // An erasure's deletes, then the purge's.
            for id in [3, 4, 5, 77, 78] {
                requests::delete_event(c, id)?;
            }
            while delete_received_before(c, 1_000, 8)? > 0 {}
            forget_empty_counts(c)?;
            Ok(())
        })
        .unwrap();
        check("after deletes");
        let left: i64 = db
            .read(|c| Ok(c.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?))
            .unwrap();
        // The erased ids were all among the purged (received before 1 s).
        assert_eq!(left, 400 - 100);
    }

    fn plan(c: &Connection, sql: &str, args: &[Value]) -> Vec<String> {
        let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = st
            .query_map(params_from_iter(args), |r| r.get::<_, String>(3))
            .unwrap();
        rows.map(|r| r.unwrap()).collect()
    }

    /// No filter of the Activity Log, nor the lookup of a subject's events (access packages,
    /// erasure), reads `events` without an index: fails when one of the indexes they rely on
    /// is dropped or a query stops using it. With and without the planner's statistics.
    #[test]
    fn every_filter_and_a_subjects_events_are_read_through_an_index() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        sample(&db);
        for analysed in [false, true] {
            if analysed {
                db.write(|c| Ok(c.execute_batch("ANALYZE")?)).unwrap();
            }
            db.read(|c| {
                for (name, f) in filters() {
                    RAN.with(|r| r.borrow_mut().clear());
                    list(c, &f)?;
                    count(c, &f)?;
                    for (sql, args) in RAN.with(|r| r.borrow_mut().split_off(0)) {
                        let lines = plan(c, &sql, &args);
                        if std::env::var_os("SHOW_PLANS").is_some() {
                            eprintln!("{name} {analysed}: {lines:?}");
                        }
                        for l in lines.iter().filter(|l| l.contains(" events")) {
                            let ordered_walk = sql.contains("ORDER BY")
                                && l.starts_with("SCAN events USING INDEX events_by_time");
                            assert!(
                                l.starts_with("SEARCH events USING") || ordered_walk,
                                "{name} (analysed: {analysed}): {l}\n{sql}"
                            );
                        }
                    }
                }
                Ok(())
            })
            .unwrap();
            let subject = [
                (requests::SUBJECT_EVENTS_BY_SUBJECT, "events_by_subject"),
                (requests::SUBJECT_EVENTS_BY_CUSTOMER, "events_by_customer"),
                (requests::SUBJECT_EVENTS_BY_OWNER_EMAIL, "events_by_subject"),
                (
                    requests::SUBJECT_EVENTS_BY_ORPHAN_EMAIL,
                    "events_by_orphan_email",
                ),
            ];
            db.read(|c| {
                for (sql, index) in subject {
                    let args = [Value::Integer(1), Value::Text("x".into())];
                    let n = sql.matches('?').count();
                    let lines = plan(c, sql, &args[..n]);
                    assert!(
                        lines
                            .iter()
                            .all(|l| l.starts_with("SEARCH events USING") && l.contains(index)),
                        "{sql}: {lines:?}"
                    );
                }
                Ok(())
            })
            .unwrap();
        }
    }

    /// The queries that run each time events are stored or linked (the linker's, in the
    /// writer thread; the Stripe job's, after every nudge) read only the rows of their status,
    /// in stored order, when nearly every event is linked: with and without the planner's
    /// statistics; and the catch-up finds the newest event from the end of the time index.
    /// Fails when a query stops using its index or the index is dropped.
    #[test]
    fn the_background_queries_read_only_the_rows_they_look_for() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        db.write(|c| {
            let p = processors::insert(c, &processors::NewProcessor::bare_stripe("e"))?;
            for k in 0..3000i64 {
                let status = match k % 1000 {
                    1 => status::UNLINKED,
                    2 => status::PENDING,
                    3 => status::AWAITING_FETCH,
                    _ => status::LINKED,
                };
                c.execute(
                    "INSERT INTO events (processor_id, source, event_id, event_type, occurred_at,
                         received_at, status, customer_ref, observed, data)
                     VALUES (?1, 'stripe', ?2, 'customer.updated', ?3, ?3, ?4, ?5, '', '{}')",
                    params![p, format!("evt_{k}"), k, status, format!("cus_{}", k % 700)],
                )?;
            }
            Ok(())
        })
        .unwrap();
        let queries = [
            (pending_sql(500), "events_to_process", false),
            (
                stripe_sync::AWAITING_FETCH.to_owned(),
                "events_to_process",
                false,
            ),
            (
                stripe_sync::UNKNOWN_CUSTOMERS.to_owned(),
                "events_by_status",
                true,
            ),
        ];
        for analysed in [false, true] {
            if analysed {
                db.write(|c| Ok(c.execute_batch("ANALYZE")?)).unwrap();
            }
            db.read(|c| {
                for (sql, index, distinct) in &queries {
                    let args = [Value::Integer(1), Value::Integer(50)];
                    let lines = plan(c, sql, &args[..sql.matches('?').count()]);
                    let of_events: Vec<_> = lines
                        .iter()
                        .filter(|l| l.contains(" events ") || l.contains(" e "))
                        .collect();
                    assert!(
                        of_events.len() == 1 && of_events[0].contains(index),
                        "analysed: {analysed}: {lines:?}\n{sql}"
                    );
                    // In stored order from the index; only the distinct customers are sorted.
                    let sorts: Vec<_> =
                        lines.iter().filter(|l| l.contains("TEMP B-TREE")).collect();
                    assert!(
                        sorts.is_empty()
                            || (*distinct && sorts == ["USE TEMP B-TREE FOR DISTINCT"]),
                        "analysed: {analysed}: {lines:?}\n{sql}"
                    );
                }
                Ok(())
            })
            .unwrap();
        }
        // And they find what they look for.
        let got = db.write(|c| Ok(pending(c, 500)?.len())).unwrap();
        assert_eq!(got, 3);
        let thin = db.read(|c| stripe_sync::awaiting_fetch(c, 1, 50)).unwrap();
        let ids: Vec<&str> = thin.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(ids, ["evt_3", "evt_1003", "evt_2003"]);
        let customers = db
            .read(|c| stripe_sync::unknown_customers(c, 1, 50))
            .unwrap();
        assert_eq!(customers, ["cus_1", "cus_301", "cus_601"]);

        // The catch-up's start: the newest event walked back to from the end of the time
        // index (no sort, no read of the processor's every event); imports do not count.
        db.write(|c| {
            c.execute(
                "INSERT INTO events (processor_id, source, event_id, event_type, occurred_at,
                     received_at, status, customer_ref, observed, data)
                 VALUES (1, 'stripe', 'import_cus_1', 'customer.imported', 9000, 9000,
                     'linked', 'cus_1', '', '{}')",
                [],
            )?;
            Ok(c.execute_batch("ANALYZE")?)
        })
        .unwrap();
        db.read(|c| {
            let lines = plan(c, stripe_sync::NEWEST_EVENT, &[Value::Integer(1)]);
            assert_eq!(lines, ["SCAN events USING INDEX events_by_time"]);
            Ok(())
        })
        .unwrap();
        let newest = db.read(|c| stripe_sync::newest_event_at(c, 1)).unwrap();
        assert_eq!(newest, Some(2999));
        assert_eq!(
            db.read(|c| stripe_sync::newest_event_at(c, 2)).unwrap(),
            None
        );
    }
}
