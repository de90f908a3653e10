//! Backups: everything Privacy Desk proves, in one encrypted file, and back.
//!
//! - [`create`]: a consistent copy of the live database (SQLite's online backup API, while the
//!   receiver keeps committing), its [`Manifest`], the install's audit and hash key and, when
//!   asked, every credential in the keychain, encrypted with a passphrase (`archive.rs`).
//! - [`restore`] (`restore.rs`): into an empty data directory only; a wrong passphrase, a
//!   truncated or altered file and a newer schema are refused before anything is left behind.
//! - The schedule (`schedule.rs`): daily into a folder, keeping the last N, run by the jobs.
//!
//! Every attempt is a row in `backups` (the Dashboard's "last good backup", `doctor`).

mod archive;
mod restore;
pub mod schedule;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::files;
use crate::secrets::Secret;
use crate::store::backup::{self as q, BackupRow, Counts};
use crate::time::{now_ms, to_rfc3339};

pub use crate::domain::processors::MissingSecret;
pub use restore::{
    finish_pending_restore, is_new_install, restore, restore_over_new_install, RestoreReport,
};

/// The format of the file; a restore refuses one it does not know.
pub const FORMAT: u32 = 1;
/// The file name extension Privacy Desk gives its backups.
pub const EXTENSION: &str = "pdbackup";
/// A passphrase shorter than this is refused: the file may sit on a synced drive for years.
pub const MIN_PASSPHRASE: usize = 12;

/// What a backup holds, written first inside the encrypted file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Manifest {
    pub format: u32,
    pub app_version: String,
    pub created_at: String,
    /// `PRAGMA user_version` of the database inside.
    pub schema_version: u32,
    pub counts: Counts,
    /// The audit trail's last entry when the copy was taken; `null` for an empty trail.
    pub audit_head: Option<AuditHead>,
    pub database: FileDigest,
    /// The keychain entries inside, by account (`app/hash-key`, `processor/3/signing-secret`).
    pub secrets: Vec<String>,
    /// Whether the credentials (signing secrets, URL tokens, API keys, the ngrok authtoken)
    /// are inside, or only the audit and hash key.
    pub credentials_included: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AuditHead {
    pub id: i64,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FileDigest {
    #[ts(type = "number")]
    pub bytes: u64,
    pub sha256: String,
}

/// What `privacy-desk backup` and "Back up now" report.
#[derive(Debug, Clone, Serialize, TS)]
pub struct BackupReport {
    pub path: String,
    /// Of the encrypted file, to check a copy of it.
    pub sha256: String,
    #[ts(type = "number")]
    pub bytes: u64,
    pub manifest: Manifest,
}

/// Refuses a passphrase too short to protect the file.
pub fn check_passphrase(p: &Secret) -> Result<()> {
    if p.expose().chars().count() < MIN_PASSPHRASE {
        return Err(Error::invalid(format!(
            "the backup passphrase must be at least {MIN_PASSPHRASE} characters long"
        )));
    }
    Ok(())
}

/// Writes a backup of `ctx`'s install to `out` (a new file, 0600, written under a temporary
/// name and renamed into place), with the credentials if `credentials`. Records the attempt;
/// a passphrase too short is refused before it (bad input, not a failed backup).
pub fn create(
    ctx: &Context,
    out: &Path,
    passphrase: &Secret,
    credentials: bool,
) -> Result<BackupReport> {
    check_passphrase(passphrase)?;
    attempt(ctx, false, now_ms(), credentials, || {
        Ok((passphrase.clone(), out.to_path_buf()))
    })
}

/// One backup attempt, recorded in `backups` whether it succeeds or fails: `prepare` gives
/// the passphrase and the file to write (its failure — no passphrase kept, no folder — is a
/// failed attempt too).
fn attempt(
    ctx: &Context,
    scheduled: bool,
    at: i64,
    credentials: bool,
    prepare: impl FnOnce() -> Result<(Secret, PathBuf)>,
) -> Result<BackupReport> {
    let made = prepare().and_then(|(pass, out)| write(ctx, &out, &pass, credentials));
    let row = match &made {
        Ok(r) => BackupRow {
            at,
            scheduled,
            ok: true,
            path: Some(r.path.clone()),
            bytes: Some(r.bytes as i64),
            sha256: Some(r.sha256.clone()),
            error: None,
        },
        Err(e) => BackupRow::failed(at, scheduled, e.to_string()),
    };
    ctx.db.write(move |c| q::record(c, &row))?;
    made
}

/// The snapshot beside the live database, removed when dropped (it holds what the database
/// holds, so it lives where the database does, mode 0600).
struct Snapshot(PathBuf);

impl Drop for Snapshot {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A snapshot is removed as soon as its backup is written; one older than an hour was left by
/// a crash, and holds personal data an erasure must not leave behind.
fn remove_stale_snapshots(data_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let stale = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(3600));
        if name.starts_with(SNAPSHOT_PREFIX) && name.ends_with(".db") && stale {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

const SNAPSHOT_PREFIX: &str = ".backup-";

fn write(
    ctx: &Context,
    out: &Path,
    passphrase: &Secret,
    credentials: bool,
) -> Result<BackupReport> {
    if out.is_dir() {
        return Err(Error::invalid(format!(
            "{} is a folder: give the backup file's name",
            out.display()
        )));
    }
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty());
    if parent.map(canonical) == Some(canonical(&ctx.data_dir)) {
        return Err(Error::invalid(
            "a backup cannot go into the data directory it backs up: choose another folder",
        ));
    }
    remove_stale_snapshots(&ctx.data_dir);
    let snap = Snapshot(ctx.data_dir.join(format!(
        "{SNAPSHOT_PREFIX}{}.db",
        files::random_name_part()?
    )));
    q::snapshot_into(&ctx.db, &snap.0)?;
    let seen = q::inspect(&snap.0)?;
    let (sha256, bytes) = archive::digest_of(&snap.0)?;
    let secrets = ctx.keychain.entries_for_backup(credentials)?;
    let manifest = Manifest {
        format: FORMAT,
        app_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: to_rfc3339(now_ms()),
        schema_version: seen.schema_version,
        counts: seen.counts,
        audit_head: seen.audit_head.map(|(id, hash)| AuditHead { id, hash }),
        database: FileDigest { bytes, sha256 },
        secrets: secrets.iter().map(|c| c.account.clone()).collect(),
        credentials_included: credentials,
    };
    files::write_private(out, |f| {
        archive::write(f, passphrase, &manifest, &secrets, &snap.0)
    })?;
    drop(snap);
    let (sha256, bytes) = archive::digest_of(out)?;
    Ok(BackupReport {
        path: out.display().to_string(),
        sha256,
        bytes,
        manifest,
    })
}

/// The newest backup attempt and the newest good one, for the Dashboard and `doctor`.
#[derive(Debug, Clone, Serialize, TS)]
pub struct BackupStatus {
    pub last_attempt: Option<Attempt>,
    pub last_good: Option<Attempt>,
    pub schedule: schedule::Schedule,
    /// Nothing is recorded here yet: the window may restore a backup over this install.
    pub new_install: bool,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct Attempt {
    pub at: String,
    /// `at` in unix ms, for the health check's arithmetic.
    #[serde(skip)]
    #[ts(skip)]
    pub at_ms: i64,
    pub scheduled: bool,
    pub ok: bool,
    pub path: Option<String>,
    #[ts(type = "number | null")]
    pub bytes: Option<i64>,
    pub error: Option<String>,
}

impl From<BackupRow> for Attempt {
    fn from(r: BackupRow) -> Attempt {
        Attempt {
            at: to_rfc3339(r.at),
            at_ms: r.at,
            scheduled: r.scheduled,
            ok: r.ok,
            path: r.path,
            bytes: r.bytes,
            error: r.error,
        }
    }
}

pub fn status(ctx: &Context) -> Result<BackupStatus> {
    let (last, good) = ctx.db.read(q::latest)?;
    Ok(BackupStatus {
        last_attempt: last.map(Attempt::from),
        last_good: good.map(Attempt::from),
        schedule: schedule::get(ctx)?,
        new_install: is_new_install(ctx)?,
    })
}

/// The name, without its extension, of a backup made at `ms`:
/// `privacy-desk-2026-12-04-183012`.
pub fn file_stem_at(ms: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    format!("privacy-desk-{}", t.format("%Y-%m-%d-%H%M%S"))
}
