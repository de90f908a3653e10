//! Queries on `jobs`: each background job's last and next run (see `crate::jobs`).

use rusqlite::{params, Connection};

use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub name: String,
    pub last_run_at: Option<i64>,
    pub last_ok_at: Option<i64>,
    pub next_run_at: Option<i64>,
    pub last_error: Option<String>,
    pub runs: i64,
    pub failures: i64,
    pub summary: String,
}

/// How one run ended.
pub struct Finished<'a> {
    pub at: i64,
    pub next_run_at: i64,
    /// `Err(message)` when it failed.
    pub outcome: std::result::Result<&'a str, &'a str>,
}

/// Records a run: a success clears the error and the failure count, a failure keeps the
/// last success and counts up.
pub fn finished(conn: &Connection, name: &str, f: &Finished) -> Result<()> {
    let (ok, summary, error) = match f.outcome {
        Ok(summary) => (true, summary, None),
        Err(e) => (false, "", Some(e)),
    };
    conn.prepare_cached(
        "INSERT INTO jobs (name, last_run_at, last_ok_at, next_run_at, last_error, runs, failures,
                           summary)
         VALUES (?1, ?2, CASE WHEN ?3 THEN ?2 END, ?4, ?5, 1, CASE WHEN ?3 THEN 0 ELSE 1 END, ?6)
         ON CONFLICT (name) DO UPDATE SET
           last_run_at = excluded.last_run_at,
           last_ok_at = CASE WHEN ?3 THEN excluded.last_run_at ELSE jobs.last_ok_at END,
           next_run_at = excluded.next_run_at,
           last_error = excluded.last_error,
           runs = jobs.runs + 1,
           failures = CASE WHEN ?3 THEN 0 ELSE jobs.failures + 1 END,
           summary = CASE WHEN ?3 THEN excluded.summary ELSE jobs.summary END",
    )?
    .execute(params![name, f.at, ok, f.next_run_at, error, summary])?;
    Ok(())
}

/// Says when a job runs next (at start, before its first run).
pub fn scheduled(conn: &Connection, name: &str, next_run_at: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO jobs (name, next_run_at) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET next_run_at = excluded.next_run_at",
    )?
    .execute(params![name, next_run_at])?;
    Ok(())
}

/// Clears the next run of every job: no process runs them now.
pub fn stopped(conn: &Connection) -> Result<()> {
    conn.execute("UPDATE jobs SET next_run_at = NULL", [])?;
    Ok(())
}

pub fn list(conn: &Connection) -> Result<Vec<JobRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, last_run_at, last_ok_at, next_run_at, last_error, runs, failures, summary
         FROM jobs ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(JobRow {
            name: r.get(0)?,
            last_run_at: r.get(1)?,
            last_ok_at: r.get(2)?,
            next_run_at: r.get(3)?,
            last_error: r.get(4)?,
            runs: r.get(5)?,
            failures: r.get(6)?,
            summary: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
