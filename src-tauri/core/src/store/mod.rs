//! The only users of rusqlite. One writer thread owns the read-write connection and commits
//! whatever is waiting as one transaction (group commit); readers use their own connections.
//!
//! Layout: `open` (file, pragmas), `migrate` (schema versions), then one file of queries per
//! table. Domain code calls those query functions inside [`Db::read`] / [`Db::write`].

/// A fieldless enum stored as TEXT, under the same names as its serde names (each column's
/// CHECK in `migrations/` lists them): `as_str`, `Display`, and rusqlite's `ToSql`/`FromSql`,
/// which refuses a name it does not know.
macro_rules! text_enum {
    ($t:ident { $($v:ident => $s:literal),+ $(,)? }) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($t::$v => $s),+
                }
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl rusqlite::types::ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::from(self.as_str()))
            }
        }

        impl rusqlite::types::FromSql for $t {
            fn column_result(
                v: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                match v.as_str()? {
                    $($s => Ok($t::$v),)+
                    _ => Err(rusqlite::types::FromSqlError::InvalidType),
                }
            }
        }
    };
}

pub mod access_review;
pub mod audit;
pub mod backup;
pub mod deliveries;
pub mod events;
pub mod install;
pub mod jobs;
pub mod migrate;
pub mod payload;
pub mod processors;
pub mod replay_cache;
pub mod requests;
pub mod ropa;
pub mod settings;
pub mod stripe_sync;
pub mod subjects;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

/// The database file inside the data directory.
pub const DB_FILE: &str = "privacy-desk.db";
/// Jobs waiting for the writer beyond this many are refused (the receiver answers 503).
pub const WRITE_QUEUE: usize = 4096;
/// At most this many jobs share one transaction.
const MAX_BATCH: usize = 512;
const IDLE_READERS: usize = 4;
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 64;

/// A unit of work for the writer thread.
pub trait Job: Send {
    /// Runs inside the batch transaction, in a savepoint of its own (unless
    /// [`Job::needs_savepoint`] says otherwise). Returning `false` rolls back this job's
    /// changes only.
    fn apply(&mut self, conn: &Connection) -> bool;
    /// Whether `apply` runs in a savepoint of its own. A job may answer `false` only if, when
    /// `apply` returns `false`, it changed nothing (typically: its one required write is a
    /// single statement, which SQLite backs out by itself when it fails) or it gave up the
    /// whole batch ([`abandon_batch`]). Saves the copy of every page the job touches into the
    /// savepoint's journal (the writer's hot path: one webhook event per job).
    fn needs_savepoint(&self) -> bool {
        true
    }
    /// Whether the commit that holds this job must be on the disk before the job is told it
    /// committed (an fsync of the WAL: `synchronous = FULL`). A batch made only of jobs that
    /// answer `false` commits with `synchronous = NORMAL`: no fsync of its own; the next
    /// synced commit or checkpoint carries it to the disk, and a power cut before that loses
    /// it, whole. For work that is done again if lost (the retention purge); never for a
    /// webhook, a request or the audit trail.
    fn must_sync(&self) -> bool {
        true
    }
    /// Runs after the batch is durably committed (`Ok`) or rolled back (`Err`).
    fn finish(self: Box<Self>, committed: Result<()>);
}

enum Msg {
    Job(Box<dyn Job>),
    Stop,
}

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    tx: SyncSender<Msg>,
    readers: Mutex<Vec<Connection>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    checkpointer: Mutex<Option<Checkpointer>>,
}

impl Db {
    /// Opens (creating if needed) the database in `dir`, applies migrations and starts the
    /// writer thread.
    pub fn open(dir: &Path) -> Result<Db> {
        create_private_dir(dir)?;
        let path = dir.join(DB_FILE);
        create_private_file(&path)?;
        let mut conn = Connection::open(&path)?;
        configure(&conn, false)?;
        migrate::migrate_to(&mut conn, migrate::latest_version())?;
        // The WAL is copied into the database by the checkpointer's thread, not in the
        // writer's commits; this is only the backstop should that thread fall behind.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_BACKSTOP_PAGES)?;
        let checkpointer = Checkpointer::start(&path)?;

        let (tx, rx) = mpsc::sync_channel(WRITE_QUEUE);
        let writer = std::thread::Builder::new()
            .name("db-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(|e| Error::Io(format!("cannot start the database writer: {e}")))?;
        Ok(Db {
            inner: Arc::new(Inner {
                path,
                tx,
                readers: Mutex::new(Vec::new()),
                writer: Mutex::new(Some(writer)),
                checkpointer: Mutex::new(Some(checkpointer)),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on the writer thread inside a transaction and waits until it is committed.
    pub fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.write_job(f, true)
    }

    /// [`Db::write`] for work that is done again if a power cut loses it (see
    /// [`Job::must_sync`]): when no other job shares its commit, the commit does not wait
    /// for the disk.
    pub(crate) fn write_unsynced<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.write_job(f, false)
    }

    fn write_job<T, F>(&self, f: F, sync: bool) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel(1);
        self.submit(Box::new(FnJob {
            f: Some(f),
            result: None,
            reply,
            sync,
        }))?;
        answer
            .recv()
            .map_err(|_| Error::Unavailable("the database writer stopped".into()))?
    }

    /// Queues `f` without waiting for it, nor for room in the queue: when the queue is full
    /// the work is dropped and `false` returned. For best-effort records (the deliveries log).
    pub(crate) fn write_detached<F>(&self, f: F) -> bool
    where
        F: FnOnce(&Connection) -> Result<()> + Send + 'static,
    {
        let (reply, _) = mpsc::sync_channel(1);
        self.try_submit(Box::new(FnJob {
            f: Some(f),
            result: None,
            reply,
            sync: true,
        }))
        .is_ok()
    }

    /// Queues a job, waiting for room in the queue.
    pub fn submit(&self, job: Box<dyn Job>) -> Result<()> {
        self.inner
            .tx
            .send(Msg::Job(job))
            .map_err(|_| Error::Unavailable("the database writer stopped".into()))
    }

    /// Queues a job without waiting: a full queue hands the job back.
    pub fn try_submit(&self, job: Box<dyn Job>) -> std::result::Result<(), Box<dyn Job>> {
        match self.inner.tx.try_send(Msg::Job(job)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(Msg::Job(j)) | TrySendError::Disconnected(Msg::Job(j))) => {
                Err(j)
            }
            Err(_) => unreachable!("only jobs are sent through try_submit"),
        }
    }

    /// Runs `f` on a read-only connection.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.inner.readers.lock().expect("reader pool").pop();
        let conn = match conn {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.inner.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                configure(&c, true)?;
                c
            }
        };
        let out = f(&conn);
        let mut pool = self.inner.readers.lock().expect("reader pool");
        if pool.len() < IDLE_READERS {
            pool.push(conn);
        }
        out
    }

    /// Holds the writer until the returned guard is dropped; the jobs queued meanwhile then
    /// go into one transaction (up to 512 of them). For tests and benchmarks that need a
    /// batch of a known make-up. Returns once the writer is held.
    pub fn hold(&self) -> Result<Held> {
        let (held_tx, held_rx) = mpsc::sync_channel(1);
        let (release, released) = mpsc::sync_channel(1);
        self.submit(Box::new(Hold { held_tx, released }))?;
        held_rx
            .recv()
            .map_err(|_| Error::Unavailable("the database writer stopped".into()))?;
        Ok(Held(release))
    }

    /// Commits what is queued and stops the writer. Later writes fail with `Unavailable`.
    pub fn shutdown(&self) {
        let _ = self.inner.tx.send(Msg::Stop);
        if let Some(h) = self.inner.writer.lock().expect("writer handle").take() {
            let _ = h.join();
        }
        drop(self.inner.checkpointer.lock().expect("checkpointer").take());
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(h) = self.writer.get_mut().ok().and_then(|w| w.take()) {
            let _ = h.join();
        }
        drop(self.checkpointer.get_mut().ok().and_then(|c| c.take()));
    }
}

/// How often the checkpointer copies the WAL into the database.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);
/// How often while the last round found frames to copy.
const CHECKPOINT_BUSY: std::time::Duration = std::time::Duration::from_millis(20);
/// The writer checkpoints itself only past this many WAL pages (40 MiB).
const WAL_BACKSTOP_PAGES: i64 = 10_000;

/// A thread with a connection of its own that copies the WAL into the database
/// (`wal_checkpoint(PASSIVE)`: it never waits for the writer, nor the writer for it) every
/// 200 ms, and every 20 ms while the last round found frames to copy. Left to SQLite, the
/// commit that takes the WAL past 1000 pages does it, on the writer thread: the webhooks
/// waiting for that commit wait for the copy and its fsync too.
///
/// While the writer keeps writing (a purge), a passive copy never quite catches up, and the
/// WAL starts again from its beginning only when it reaches the writer's backstop: that
/// commit copies what the checkpointer has not yet, so the less that is, the shorter the
/// webhooks wait. Every 200 ms left up to ~2,800 pages for it during a purge at a million
/// events; every 20 ms, 580 in one run and 2,300 in the next (docs/benchmarks.md, "The app at
/// scale"). Taking the write lock to restart the WAL sooner (`wal_checkpoint(RESTART)` past
/// 4,000 pages) was measured and not better.
struct Checkpointer {
    stop: SyncSender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_millis(100))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        let (stop, stopped) = mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("db-checkpoint".into())
            .spawn(move || {
                let mut wait = CHECKPOINT_EVERY;
                let mut copied_before = 0;
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(wait) {
                    // Busy (another checkpoint, an erasure's TRUNCATE) is fine: next round.
                    let copied = conn
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(2))
                        .unwrap_or(0);
                    // While the writer keeps writing, copy often, a little each time.
                    wait = if copied != copied_before {
                        CHECKPOINT_BUSY
                    } else {
                        CHECKPOINT_EVERY
                    };
                    copied_before = copied;
                }
            })
            .map_err(|e| Error::Io(format!("cannot start the database checkpointer: {e}")))?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let _ = self.stop.try_send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The pragmas, chosen in docs/adr/0002-sqlite.md.
fn configure(conn: &Connection, read_only: bool) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Every statement the writer runs for a webhook and its linking stays prepared. They are
    // more than rusqlite's default of 16: with it the writer compiled 2.6 statements again
    // for each webhook (docs/benchmarks.md).
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "trusted_schema", "OFF")?;
    // Statement journals and sorts stay in memory: no temporary files with personal data, and
    // no file I/O for each job's savepoint.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    if read_only {
        conn.pragma_update(None, "query_only", "ON")?;
    } else {
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Database(format!(
                "the database could not switch to WAL mode (got {mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Fresh planner statistics when they are missing or stale, bounded in time.
        conn.execute_batch("PRAGMA analysis_limit = 400; PRAGMA optimize = 0x10002;")?;
    }
    Ok(())
}

fn writer_loop(conn: Connection, rx: Receiver<Msg>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    let mut stopping = false;
    while !stopping {
        match rx.recv() {
            Ok(Msg::Job(j)) => batch.push(j),
            Ok(Msg::Stop) | Err(_) => stopping = true,
        }
        // Take whatever else is already waiting: one commit (one fsync) for all of it.
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Msg::Job(j)) => batch.push(j),
                Ok(Msg::Stop) => stopping = true,
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            continue;
        }
        let unsynced = !batch.iter().any(|j| j.must_sync());
        let committed = if unsynced {
            conn.pragma_update(None, "synchronous", "NORMAL")
                .and_then(|()| run_batch(&conn, &mut batch))
        } else {
            run_batch(&conn, &mut batch)
        };
        // Back to FULL before anything else commits. Should that fail, nothing else commits:
        // the writer stops, and later writes fail with `Unavailable`.
        if unsynced && conn.pragma_update(None, "synchronous", "FULL").is_err() {
            tracing::error!("the database writer could not go back to synchronous commits");
            stopping = true;
        }
        for job in batch.drain(..) {
            job.finish(match &committed {
                Ok(()) => Ok(()),
                Err(e) => Err(Error::Database(e.to_string())),
            });
        }
    }
    if let Err(e) = conn.close() {
        tracing::warn!(error = %e.1, "closing the database failed");
    }
}

/// Rolls back the batch's whole transaction, from inside a job that has no savepoint and
/// cannot leave the transaction as it found it: every job of the batch is then told it
/// failed, as when SQLite itself rolls back (disk full).
pub(crate) fn abandon_batch(conn: &Connection) {
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
}

fn run_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    for job in batch.iter_mut() {
        let step = (|| {
            if !job.needs_savepoint() {
                job.apply(conn);
                // Some errors (disk full, I/O) make SQLite roll back the whole transaction;
                // the jobs after it must not run in autocommit mode.
                return if conn.is_autocommit() {
                    Err(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                        Some("the transaction was rolled back".into()),
                    ))
                } else {
                    Ok(())
                };
            }
            conn.prepare_cached("SAVEPOINT job")?.execute([])?;
            let ok = job.apply(conn);
            if !ok {
                conn.prepare_cached("ROLLBACK TO job")?.execute([])?;
            }
            conn.prepare_cached("RELEASE job")?.execute([]).map(drop)
        })();
        if let Err(e) = step {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    if let Err(e) = conn.execute_batch("COMMIT") {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(e);
    }
    Ok(())
}

/// Keeps the writer held (see [`Db::hold`]) until dropped.
pub struct Held(SyncSender<()>);

impl Drop for Held {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

/// [`Db::hold`]'s job: says it runs, then waits to be released. The writer has already taken
/// its batch when a job runs, so everything queued meanwhile waits for the next one.
struct Hold {
    held_tx: SyncSender<()>,
    released: Receiver<()>,
}

impl Job for Hold {
    fn apply(&mut self, _: &Connection) -> bool {
        let _ = self.held_tx.send(());
        let _ = self.released.recv();
        true
    }

    fn finish(self: Box<Self>, _: Result<()>) {}
}

/// [`Db::write`]'s job: a closure and the channel its caller waits on.
struct FnJob<T, F> {
    f: Option<F>,
    result: Option<Result<T>>,
    reply: SyncSender<Result<T>>,
    sync: bool,
}

impl<T, F> Job for FnJob<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T> + Send + 'static,
{
    fn apply(&mut self, conn: &Connection) -> bool {
        let f = self.f.take().expect("a job runs once");
        let r = f(conn);
        let ok = r.is_ok();
        self.result = Some(r);
        ok
    }

    fn must_sync(&self) -> bool {
        self.sync
    }

    fn finish(self: Box<Self>, committed: Result<()>) {
        let out = match committed {
            Ok(()) => self
                .result
                .unwrap_or_else(|| Err(Error::Unavailable("the job did not run".into()))),
            Err(e) => Err(e),
        };
        let _ = self.reply.send(out);
    }
}

pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|e| {
        Error::Io(format!(
            "cannot create the data directory {}: {e}",
            dir.display()
        ))
    })
}

/// The database holds personal data: only the owner may read it (mode 0600). SQLite gives
/// the -wal and -shm files the same mode as the database file.
fn create_private_file(path: &Path) -> Result<()> {
    let io = |e: std::io::Error| Error::Io(format!("cannot open {}: {e}", path.display()));
    let mut o = fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        o.mode(0o600);
        o.open(path).map_err(io)?;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    #[cfg(not(unix))]
    o.open(path).map_err(io)?;
    Ok(())
}

/// Creates `path`, which must not exist yet (a link planted there is not followed), mode 0600:
/// a database copy (backups, restores).
pub(crate) fn create_private_new(path: &Path) -> Result<()> {
    let mut o = fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
        .map_err(|e| Error::Io(format!("cannot create {}: {e}", path.display())))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pragmas_are_set_and_the_file_is_private() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let db = Db::open(&data).unwrap();
        db.write(|c| {
            let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
            let fk: i64 = c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
            let sd: i64 = c.query_row("PRAGMA secure_delete", [], |r| r.get(0))?;
            let jm: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
            assert_eq!((sync, fk, sd, jm.as_str()), (2, 1, 1, "wal"));
            settings::set(c, "probe", "1")
        })
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in [DB_FILE, "privacy-desk.db-wal", "privacy-desk.db-shm"] {
                let mode = fs::metadata(data.join(f)).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{f}");
            }
            // A data directory we create is private too.
            let mode = fs::metadata(&data).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }

    #[test]
    fn only_a_commit_of_unsynced_work_alone_skips_the_fsync() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let sync = |c: &Connection| -> Result<i64> {
            Ok(c.query_row("PRAGMA synchronous", [], |r| r.get(0))?)
        };
        // Alone: NORMAL (1), and FULL (2) again for the next commit.
        assert_eq!(db.write_unsynced(sync).unwrap(), 1);
        assert_eq!(db.write(sync).unwrap(), 2);
        // In one batch with a job that must sync: FULL for both. Both are queued while the
        // writer is held, so its next batch takes them together.
        let held = db.hold().unwrap();
        let queue = |sync_it: bool| {
            let (reply, answer) = mpsc::sync_channel(1);
            db.submit(Box::new(FnJob {
                f: Some(sync),
                result: None,
                reply,
                sync: sync_it,
            }))
            .unwrap();
            answer
        };
        let (unsynced, synced) = (queue(false), queue(true));
        drop(held);
        let got = |a: mpsc::Receiver<Result<i64>>| a.recv().unwrap().unwrap();
        assert_eq!((got(unsynced), got(synced)), (2, 2));
        assert_eq!(db.write(sync).unwrap(), 2);
    }

    #[test]
    fn a_failed_job_rolls_back_alone_and_its_neighbours_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let db = db.clone();
                std::thread::spawn(move || {
                    db.write(move |c| {
                        settings::set(c, &format!("k{i}"), "v")?;
                        if i % 5 == 0 {
                            return Err(Error::invalid("fails on purpose"));
                        }
                        Ok(())
                    })
                })
            })
            .collect();
        let ok = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|r| r.is_ok())
            .count();
        assert_eq!(ok, 16);
        for i in 0..20 {
            let v = db.read(|c| settings::get(c, &format!("k{i}"))).unwrap();
            assert_eq!(v.is_some(), i % 5 != 0, "k{i}");
        }
    }

    #[test]
    fn readers_see_committed_writes_and_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        db.write(|c| settings::set(c, "a", "1")).unwrap();
        assert_eq!(
            db.read(|c| settings::get(c, "a")).unwrap().as_deref(),
            Some("1")
        );
        assert!(db.read(|c| settings::set(c, "b", "2")).is_err());
    }
}
