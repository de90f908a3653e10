//! Scheduled backups: daily into a folder the officer chose (a synced drive, a USB disk),
//! keeping the last N, encrypted with a passphrase kept in the keychain. Run by the jobs
//! (`Job::Backup`, hourly: it backs up when the last good scheduled backup is a day old), and
//! "Back up now" from Settings.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{attempt, check_passphrase, file_stem_at, BackupReport, EXTENSION};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::files;
use crate::secrets::{Secret, SecretKind};
use crate::store::{backup as q, settings as sq};
use crate::time::{count_of, to_rfc3339};

const KEY: &str = "backup_schedule";
/// A scheduled backup is due this long after the last good one.
pub const EVERY_MS: i64 = 24 * 3600 * 1000;
const DEFAULT_KEEP: u32 = 7;

/// What the officer sets in Settings → Backups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct ScheduleInput {
    /// Back up daily.
    pub enabled: bool,
    /// The folder backups go to; `null`: the Downloads folder.
    pub folder: Option<String>,
    /// How many scheduled backups to keep (1–365); older ones are deleted.
    pub keep: u32,
    /// Put the credentials (signing secrets, URL tokens, API keys, the ngrok authtoken) in
    /// the backup, so a restore needs no re-onboarding.
    pub include_credentials: bool,
}

impl Default for ScheduleInput {
    fn default() -> Self {
        ScheduleInput {
            enabled: false,
            folder: None,
            keep: DEFAULT_KEEP,
            include_credentials: true,
        }
    }
}

/// The schedule as Settings and the Dashboard show it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Schedule {
    #[serde(flatten)]
    pub input: ScheduleInput,
    /// The folder backups go to now (the chosen one, or Downloads).
    pub folder_in_use: String,
    /// Whether the keychain holds the backup passphrase.
    pub passphrase_set: bool,
    /// When the next scheduled backup is due; `null` when the schedule is off.
    pub next_due_at: Option<String>,
}

fn input(ctx: &Context) -> Result<ScheduleInput> {
    Ok(ctx
        .db
        .read(|c| sq::get(c, KEY))?
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default())
}

fn folder_of(i: &ScheduleInput) -> Result<PathBuf> {
    match &i.folder {
        Some(f) => Ok(PathBuf::from(f)),
        None => files::downloads_path(),
    }
}

pub fn get(ctx: &Context) -> Result<Schedule> {
    let input = input(ctx)?;
    let last_ok = ctx.db.read(q::last_scheduled_ok_at)?;
    Ok(Schedule {
        folder_in_use: folder_of(&input)?.display().to_string(),
        passphrase_set: ctx
            .keychain
            .get_app(SecretKind::BackupPassphrase)?
            .is_some(),
        next_due_at: input
            .enabled
            .then(|| to_rfc3339(last_ok.map_or_else(crate::time::now_ms, |t| t + EVERY_MS))),
        input,
    })
}

/// Saves the schedule. Turning it on needs the passphrase set, and a folder that exists.
pub fn save(ctx: &Context, s: ScheduleInput) -> Result<Schedule> {
    if !(1..=365).contains(&s.keep) {
        return Err(Error::invalid("keep between 1 and 365 backups"));
    }
    if let Some(f) = &s.folder {
        let p = Path::new(f);
        if !p.is_absolute() || !p.is_dir() {
            return Err(Error::invalid(format!(
                "the backup folder {f} does not exist: choose a folder"
            )));
        }
    }
    if s.enabled
        && ctx
            .keychain
            .get_app(SecretKind::BackupPassphrase)?
            .is_none()
    {
        return Err(Error::invalid(
            "set a backup passphrase before turning on daily backups",
        ));
    }
    let json = serde_json::to_string(&s).expect("the schedule serialises");
    ctx.db.write(move |c| sq::set(c, KEY, &json))?;
    get(ctx)
}

/// Keeps `passphrase` in the keychain for scheduled backups and "Back up now".
pub fn set_passphrase(ctx: &Context, passphrase: &Secret) -> Result<Schedule> {
    check_passphrase(passphrase)?;
    ctx.keychain
        .set_app(SecretKind::BackupPassphrase, passphrase)?;
    get(ctx)
}

fn stored_passphrase(ctx: &Context) -> Result<Secret> {
    ctx.keychain
        .get_app(SecretKind::BackupPassphrase)?
        .ok_or_else(|| {
            Error::invalid("no backup passphrase is set: set one in Settings → Backups first")
        })
}

/// A backup now, into the schedule's folder, with the stored passphrase ("Back up now").
pub fn back_up_now(ctx: &Context) -> Result<BackupReport> {
    let i = input(ctx)?;
    let now = crate::time::now_ms();
    attempt(ctx, false, now, i.include_credentials, || {
        Ok((stored_passphrase(ctx)?, new_file_in(&folder_of(&i)?, now)?))
    })
}

fn new_file_in(folder: &Path, now: i64) -> Result<PathBuf> {
    if !folder.is_dir() {
        // Downloads may not exist yet; a chosen folder that went away is an error.
        std::fs::create_dir_all(folder).map_err(|e| {
            Error::Io(format!(
                "the backup folder {} is not there ({e}): choose another in Settings → Backups",
                folder.display()
            ))
        })?;
    }
    files::free_name(folder, &file_stem_at(now), EXTENSION).ok_or_else(|| {
        Error::Io(format!(
            "no free file name in {}: clear out old backups",
            folder.display()
        ))
    })
}

/// The job's run: a backup when the schedule is on and the last good one is a day old, then
/// the oldest beyond the number kept deleted. `Err` when the backup failed.
pub fn run_due(ctx: &Context, now: i64) -> Result<String> {
    let i = input(ctx)?;
    if !i.enabled {
        return Ok("daily backups are off".to_owned());
    }
    if let Some(t) = ctx.db.read(q::last_scheduled_ok_at)? {
        if now - t < EVERY_MS && t <= now {
            return Ok(format!("next backup due {}", to_rfc3339(t + EVERY_MS)));
        }
    }
    let report = attempt(ctx, true, now, i.include_credentials, || {
        Ok((stored_passphrase(ctx)?, new_file_in(&folder_of(&i)?, now)?))
    })?;
    let removed = prune(ctx, i.keep)?;
    Ok(format!(
        "backed up to {} ({} older removed)",
        report.path,
        count_of(removed as u64, "backup", "backups")
    ))
}

/// Deletes the schedule's backups beyond the newest `keep`. Only files it wrote itself (their
/// paths are in `backups`, with its extension) are ever deleted.
fn prune(ctx: &Context, keep: u32) -> Result<usize> {
    let files = ctx.db.read(q::scheduled_files)?;
    let mut removed = 0;
    for (id, path) in files.into_iter().skip(keep as usize) {
        let p = Path::new(&path);
        if p.extension().and_then(|e| e.to_str()) == Some(EXTENSION) {
            match std::fs::remove_file(p) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(error = %e, "an old backup could not be removed");
                    continue;
                }
            }
        }
        ctx.db.write(move |c| q::forget_file(c, id))?;
    }
    Ok(removed)
}

/// A backup file found where backups are kept, for "Restore" in the window.
#[derive(Debug, Clone, Serialize, TS)]
pub struct FoundBackup {
    pub path: String,
    pub name: String,
    #[ts(type = "number")]
    pub bytes: u64,
    pub modified_at: Option<String>,
}

/// The backup files (regular files named `*.pdbackup`, no links) in the schedule's folder and
/// in Downloads, newest first, at most 50.
pub fn found(ctx: &Context) -> Result<Vec<FoundBackup>> {
    let mut dirs = vec![folder_of(&input(ctx)?)?];
    if let Ok(d) = files::downloads_path() {
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    let mut out: Vec<(i64, FoundBackup)> = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(m) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if !m.is_file() || p.extension().and_then(|x| x.to_str()) != Some(EXTENSION) {
                continue;
            }
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_millis() as i64);
            out.push((
                modified.unwrap_or(0),
                FoundBackup {
                    path: p.display().to_string(),
                    name: e.file_name().to_string_lossy().into_owned(),
                    bytes: m.len(),
                    modified_at: modified
                        .filter(|t| crate::time::in_range(*t))
                        .map(to_rfc3339),
                },
            ));
        }
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.0));
    Ok(out.into_iter().take(50).map(|(_, f)| f).collect())
}

/// Failed scheduled backups since the last good one (the first one raises a notification).
pub fn failures_in_a_row(ctx: &Context) -> Result<i64> {
    ctx.db.read(q::scheduled_failures_in_a_row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn the_schedule_backs_up_once_a_day_keeps_the_last_n_and_counts_failures() {
        let tmp = tempfile::tempdir().unwrap();
        let ctx = Context::open_in_memory_keychain(&tmp.path().join("data")).unwrap();
        let folder = tmp.path().join("backups");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("mine.pdbackup.txt"), "not ours").unwrap();
        let t0 = crate::time::now_ms();
        assert_eq!(run_due(&ctx, t0).unwrap(), "daily backups are off");

        let on = ScheduleInput {
            enabled: true,
            folder: Some(folder.display().to_string()),
            keep: 2,
            include_credentials: false,
        };
        let e = save(&ctx, on.clone()).unwrap_err();
        assert!(e.to_string().contains("passphrase"), "{e}");
        assert!(set_passphrase(&ctx, &Secret::new("too short")).is_err());
        assert!(!get(&ctx).unwrap().passphrase_set);
        set_passphrase(&ctx, &Secret::new("a long enough passphrase")).unwrap();
        let s = save(&ctx, on.clone()).unwrap();
        assert!(s.passphrase_set);
        assert_eq!(s.folder_in_use, folder.display().to_string());

        // Four days: a backup each day; the oldest two are deleted, and the file not its own
        // is left alone.
        for day in 0..4 {
            let summary = run_due(&ctx, t0 + day * EVERY_MS).unwrap();
            assert!(summary.starts_with("backed up to"), "{summary}");
        }
        let want: Vec<String> = [2, 3]
            .iter()
            .map(|d| format!("{}.{EXTENSION}", file_stem_at(t0 + d * EVERY_MS)))
            .chain(["mine.pdbackup.txt".to_owned()])
            .collect();
        let mut want = want;
        want.sort();
        assert_eq!(names(&folder), want);
        // Within the day: not due.
        let s = run_due(&ctx, t0 + 3 * EVERY_MS + 3_600_000).unwrap();
        assert!(s.starts_with("next backup due"), "{s}");
        assert_eq!(names(&folder).len(), 3);

        // The folder goes away: each run fails and counts.
        std::fs::remove_dir_all(&folder).unwrap();
        std::fs::write(&folder, "a file where the folder was").unwrap();
        assert_eq!(failures_in_a_row(&ctx).unwrap(), 0);
        assert!(run_due(&ctx, t0 + 4 * EVERY_MS).is_err());
        assert!(run_due(&ctx, t0 + 4 * EVERY_MS + 1).is_err());
        assert_eq!(failures_in_a_row(&ctx).unwrap(), 2);
        let st = crate::backup::status(&ctx).unwrap();
        assert!(!st.last_attempt.unwrap().ok);
        assert!(st.last_good.unwrap().ok);
    }
}
