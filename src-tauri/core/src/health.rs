//! "Is everything all right?": the checks `privacy-desk doctor` and the Dashboard's health
//! card run, each with what to do about a problem. The database's integrity, the audit
//! chain, the keychain (reachable, and holding every secret the processors need), the
//! receiver, the last backup and the free disk space.

use std::path::Path;

use serde::Serialize;
use ts_rs::TS;

use crate::audit;
use crate::backup;
use crate::context::Context;
use crate::domain::{processors, settings};
use crate::error::Result;
use crate::receiver;
use crate::secrets::SecretKind;
use crate::store::backup as bq;
use crate::time::{now_ms, to_rfc3339};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(rename = "HealthStatus")]
pub enum Status {
    Ok,
    Warning,
    Problem,
}

/// One check.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(rename = "HealthCheck")]
pub struct Check {
    /// Stable id: `database`, `audit`, `keychain`, `receiver`, `backup`, `disk`.
    pub name: String,
    pub title: String,
    pub status: Status,
    pub detail: String,
    /// What to do; `null` when all is well.
    pub fix: Option<String>,
}

/// Every check, and the worst status among them.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Health {
    pub status: Status,
    pub checked_at: String,
    pub checks: Vec<Check>,
    pub backup: backup::BackupStatus,
}

fn check(name: &str, title: &str, status: Status, detail: String, fix: Option<String>) -> Check {
    Check {
        name: name.to_owned(),
        title: title.to_owned(),
        status,
        detail,
        fix,
    }
}

/// A good backup older than this is a warning.
const BACKUP_STALE_MS: i64 = 2 * backup::schedule::EVERY_MS;
/// Free space below these is a warning, then a problem.
const DISK_LOW: u64 = 1 << 30;
const DISK_CRITICAL: u64 = 200 << 20;

/// Runs every check. `receiver_running`: what the caller knows of its own receiver (the
/// window runs one in-process); `None` probes the configured port.
pub fn run(ctx: &Context, receiver_running: Option<bool>) -> Result<Health> {
    run_reusing(ctx, receiver_running, slow_checks(ctx))
}

/// The checks that read the whole database (its integrity, the audit chain): the window
/// reuses them for a while ([`Reuse`]).
fn slow_checks(ctx: &Context) -> Vec<Check> {
    vec![database(ctx), audit_chain(ctx)]
}

/// The slow checks of the last run, reused for [`Reuse::FOR`] unless a fresh run is asked for
/// (the window's Health card, shown on every visit to the Dashboard).
#[derive(Default)]
pub struct Reuse(std::sync::Mutex<Option<(std::time::Instant, Vec<Check>)>>);

impl Reuse {
    pub const FOR: std::time::Duration = std::time::Duration::from_secs(10 * 60);

    /// Every check; the slow ones from the last run if it is recent and `fresh` is false.
    pub fn run(
        &self,
        ctx: &Context,
        receiver_running: Option<bool>,
        fresh: bool,
    ) -> Result<Health> {
        let last = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let slow = match last.filter(|(at, _)| !fresh && at.elapsed() < Self::FOR) {
            Some((_, checks)) => checks,
            None => {
                let checks = slow_checks(ctx);
                *self.0.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((std::time::Instant::now(), checks.clone()));
                checks
            }
        };
        run_reusing(ctx, receiver_running, slow)
    }
}

/// Every check, with the slow ones given (from [`slow_checks`], maybe a while ago).
fn run_reusing(ctx: &Context, receiver_running: Option<bool>, slow: Vec<Check>) -> Result<Health> {
    let now = now_ms();
    let backup = backup::status(ctx)?;
    let mut checks = slow;
    checks.extend([
        keychain(ctx),
        receiver_check(ctx, receiver_running)?,
        backup_check(&backup, now),
        disk(&ctx.data_dir),
    ]);
    Ok(Health {
        status: checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok),
        checked_at: to_rfc3339(now),
        checks,
        backup,
    })
}

fn database(ctx: &Context) -> Check {
    let title = "Database";
    match ctx.db.read(bq::integrity_problems) {
        Ok(p) if p.is_empty() => check(
            "database",
            title,
            Status::Ok,
            "the integrity check found nothing wrong".into(),
            None,
        ),
        Ok(p) => check(
            "database",
            title,
            Status::Problem,
            format!("the integrity check found: {}", p.join("; ")),
            Some(
                "restore the last good backup into a new data directory; keep this one for \
                 investigation"
                    .into(),
            ),
        ),
        Err(e) => check(
            "database",
            title,
            Status::Problem,
            format!("the integrity check could not run: {e}"),
            Some("free disk space and restart Privacy Desk".into()),
        ),
    }
}

fn audit_chain(ctx: &Context) -> Check {
    let title = "Audit trail";
    match audit::verify(ctx) {
        Ok(v) if v.ok => check(
            "audit",
            title,
            Status::Ok,
            format!("the hash chain of {} entries is intact", v.entries),
            None,
        ),
        Ok(v) => check(
            "audit",
            title,
            Status::Problem,
            format!(
                "the hash chain is broken at entry {}: {}",
                v.first_broken.unwrap_or_default(),
                v.problem.unwrap_or_default()
            ),
            Some(
                "the trail was changed outside Privacy Desk: keep this database as evidence and \
                 compare it with your last good backup"
                    .into(),
            ),
        ),
        Err(e) => check(
            "audit",
            title,
            Status::Problem,
            e.to_string(),
            Some("restore the backup that carries this install's audit key".into()),
        ),
    }
}

fn keychain(ctx: &Context) -> Check {
    let title = "Keychain";
    if let Err(e) = ctx.keychain.get_app(SecretKind::HashKey) {
        return check(
            "keychain",
            title,
            Status::Problem,
            format!("the keychain cannot be reached: {e}"),
            Some("unlock your login keychain (or start its service), then check again".into()),
        );
    }
    match processors::missing_secrets(ctx) {
        Ok(m) if m.is_empty() => check(
            "keychain",
            title,
            Status::Ok,
            "reachable, and it holds every processor's secrets".into(),
            None,
        ),
        Ok(m) => check(
            "keychain",
            title,
            if m.iter().any(|s| s.stops_working) {
                Status::Problem
            } else {
                Status::Warning
            },
            m.iter()
                .map(|s| format!("{} has no {}", s.processor_name, s.secret))
                .collect::<Vec<_>>()
                .join("; "),
            Some(
                m.iter()
                    .map(|s| format!("{}: {}", s.processor_name, s.fix))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ),
        Err(e) => check(
            "keychain",
            title,
            Status::Problem,
            format!("the keychain could not be read: {e}"),
            Some("unlock your login keychain, then check again".into()),
        ),
    }
}

fn receiver_check(ctx: &Context, running: Option<bool>) -> Result<Check> {
    let port = settings::get(ctx)?.receiver_port;
    let up = running.unwrap_or_else(|| receiver::is_listening(port));
    Ok(if up {
        check(
            "receiver",
            "Webhook receiver",
            Status::Ok,
            format!("receiving on 127.0.0.1:{port}"),
            None,
        )
    } else {
        check(
            "receiver",
            "Webhook receiver",
            Status::Warning,
            format!("nothing is receiving on 127.0.0.1:{port}"),
            Some(
                "open Privacy Desk (or run `privacy-desk serve`); Stripe retries what it could \
                 not deliver for 3 days, and the catch-up fetches the rest"
                    .into(),
            ),
        )
    })
}

fn backup_check(b: &backup::BackupStatus, now: i64) -> Check {
    let title = "Backups";
    if let Some(last) = b.last_attempt.as_ref().filter(|a| !a.ok) {
        return check(
            "backup",
            title,
            Status::Problem,
            format!(
                "the last backup failed: {}",
                last.error.as_deref().unwrap_or("no reason recorded")
            ),
            Some("Settings → Backups: check the folder and passphrase, then Back up now".into()),
        );
    }
    match b.last_good.as_ref().map(|a| a.at_ms) {
        None => check(
            "backup",
            title,
            Status::Warning,
            "no backup was made yet".into(),
            Some("Settings → Backups: set a passphrase, then Back up now".into()),
        ),
        Some(t) if now - t > BACKUP_STALE_MS => check(
            "backup",
            title,
            Status::Warning,
            format!("the last good backup is {} old", age_in_words(now - t)),
            Some(if b.schedule.input.enabled {
                "the daily backup has not run: keep Privacy Desk open, or Back up now".into()
            } else {
                "Settings → Backups: turn on daily backups".into()
            }),
        ),
        Some(t) => check(
            "backup",
            title,
            Status::Ok,
            format!("the last good backup is {} old", age_in_words(now - t)),
            None,
        ),
    }
}

/// `ms` as "3 hours", "2 days" (no date: the window shows dates in the officer's locale).
fn age_in_words(ms: i64) -> String {
    let hours = ms.max(0) / 3_600_000;
    match hours {
        0 => "less than an hour".to_owned(),
        h if h < 48 => crate::time::count_of(h, "hour", "hours"),
        h => crate::time::count_of(h / 24, "day", "days"),
    }
}

/// Bytes free for the user on the file system of `dir`; `None` where it cannot be measured.
fn free_bytes(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        let s = rustix::fs::statvfs(dir).ok()?;
        Some(s.f_bavail.saturating_mul(s.f_frsize))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

fn disk(dir: &Path) -> Check {
    let title = "Disk space";
    let Some(free) = free_bytes(dir) else {
        return check(
            "disk",
            title,
            Status::Ok,
            "not measured on this platform".into(),
            None,
        );
    };
    let gib = free as f64 / (1u64 << 30) as f64;
    let detail = format!("{gib:.1} GiB free where the database lives");
    let fix = Some(
        "free disk space: when it runs out, webhooks are refused and Stripe retries them".into(),
    );
    if free < DISK_CRITICAL {
        check("disk", title, Status::Problem, detail, fix)
    } else if free < DISK_LOW {
        check("disk", title, Status::Warning, detail, fix)
    } else {
        check("disk", title, Status::Ok, detail, None)
    }
}
