//! Restoring a backup into an empty data directory, e.g. on a new computer.
//!
//! Nothing is created before the passphrase has opened the file and its manifest was accepted
//! (format, schema no newer than this build's). The database is then streamed into a staging
//! folder inside the data directory, checked (SHA-256 against the manifest, `PRAGMA
//! integrity_check`, the counts), made a new install (its own keychain namespace), and only
//! then moved into place; any failure removes what was written, and the data directory too if
//! the restore created it. Then the carried secrets are written to the keychain, the restore
//! is recorded in the audit trail, and the report names every secret to re-enter.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::json;
use ts_rs::TS;

use super::{archive, Manifest, FORMAT};
use crate::audit::{self, Entry, SYSTEM};
use crate::context::Context;
use crate::domain::processors::{self, MissingSecret};
use crate::error::{Error, Result};
use crate::secrets::{parse_account, Secret, SecretKind};
use crate::store::{backup as q, install, DB_FILE};

/// What a restore did.
#[derive(Debug, Clone, Serialize, TS)]
pub struct RestoreReport {
    pub data_dir: String,
    pub manifest: Manifest,
    /// The keychain entries written, by account.
    pub secrets_restored: Vec<String>,
    /// What the backup did not carry, and where to enter it again.
    pub secrets_to_reenter: Vec<MissingSecret>,
    /// `audit verify` on the restored trail.
    pub audit_intact: bool,
}

/// What the restore wrote so far, removed when dropped unless [`Staged::keep`] was called.
struct Staged {
    data_dir: PathBuf,
    created_data_dir: bool,
    staging: Option<PathBuf>,
    kept: bool,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        if let Some(s) = &self.staging {
            let _ = fs::remove_dir_all(s);
        }
        if self.created_data_dir {
            let _ = fs::remove_dir(&self.data_dir);
        }
    }
}

/// Refuses a data directory that holds anything; `Ok(true)` if it does not exist yet.
fn check_empty(data_dir: &Path) -> Result<bool> {
    match fs::symlink_metadata(data_dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(Error::Io(format!(
            "cannot read the data directory {}: {e}",
            data_dir.display()
        ))),
        Ok(m) if !m.is_dir() => Err(Error::invalid(format!(
            "{} is not a folder: restore into a new, empty data directory (--data-dir DIR)",
            data_dir.display()
        ))),
        Ok(_) => {
            let mut entries = fs::read_dir(data_dir)
                .map_err(|e| Error::Io(format!("cannot read {}: {e}", data_dir.display())))?;
            if entries.next().is_some() {
                return Err(Error::invalid(format!(
                    "the data directory {} is not empty: restore into a new, empty one \
                     (--data-dir DIR); nothing was restored",
                    data_dir.display()
                )));
            }
            Ok(false)
        }
    }
}

/// Restores the backup `file` into `data_dir`, which must be empty or not exist.
pub fn restore(
    data_dir: &Path,
    file: &Path,
    passphrase: &Secret,
) -> Result<(Context, RestoreReport)> {
    let created_data_dir = check_empty(data_dir)?;
    let staging = data_dir.join(format!(".restore-{}", crate::files::random_name_part()?));
    let db = staging.join(DB_FILE);
    // Removes what is written below if the restore fails (nothing exists before `prepare`).
    let mut staged = Staged {
        data_dir: data_dir.to_path_buf(),
        created_data_dir,
        staging: Some(staging.clone()),
        kept: false,
    };
    let prepare = |m: &Manifest| -> Result<File> {
        accept(m)?;
        crate::store::create_private_dir(data_dir)?;
        crate::store::create_private_dir(&staging)?;
        crate::store::create_private_new(&db)?;
        OpenOptions::new()
            .write(true)
            .open(&db)
            .map_err(|e| Error::Io(format!("cannot write {}: {e}", db.display())))
    };
    let opened = archive::read(file, passphrase, prepare)?;
    // Every carried entry must be one this build writes, before anything is moved in.
    if let Some(bad) = opened.secrets.iter().find(
        |c| !matches!(parse_account(&c.account), Some((_, k)) if k != SecretKind::BackupPassphrase),
    ) {
        return Err(Error::invalid(format!(
            "the backup holds a keychain entry this Privacy Desk does not know ({}); nothing \
             was restored",
            bad.account
        )));
    }

    let problems = q::integrity_problems_of(&db)?;
    if !problems.is_empty() {
        return Err(Error::Integrity(format!(
            "the backup's database fails its integrity check ({}); nothing was restored",
            problems.join("; ")
        )));
    }
    let seen = q::inspect(&db)?;
    if seen.schema_version != opened.manifest.schema_version
        || seen.counts != opened.manifest.counts
    {
        return Err(Error::Integrity(
            "the backup's database does not hold what its manifest says; nothing was restored"
                .into(),
        ));
    }
    q::make_new_install(&db, &install::new_install_id()?)?;
    let target = data_dir.join(DB_FILE);
    fs::rename(&db, &target)
        .map_err(|e| Error::Io(format!("cannot move the restored database into place: {e}")))?;
    if let Some(s) = staged.staging.take() {
        let _ = fs::remove_dir_all(&s);
    }
    staged.kept = true;

    // From here on the data directory holds the restored database: a failure leaves it for
    // the officer to try again (the restore's own checks all passed).
    let ctx = Context::open(data_dir)?;
    let mut secrets_restored = Vec::new();
    for entry in &opened.secrets {
        ctx.keychain.restore_entry(entry)?;
        secrets_restored.push(entry.account.clone());
    }
    let m = &opened.manifest;
    audit::record(
        &ctx,
        Entry::new(SYSTEM, "backup.restored").details(json!({
            "backup_created_at": m.created_at,
            "schema_version": m.schema_version,
            "audit_head_id": m.audit_head.as_ref().map(|h| h.id),
            "secrets_restored": secrets_restored.len(),
            "credentials_included": m.credentials_included,
        })),
    )?;
    let audit_intact = audit::verify(&ctx)?.ok;
    let report = RestoreReport {
        data_dir: data_dir.display().to_string(),
        secrets_to_reenter: processors::missing_secrets(&ctx)?,
        manifest: opened.manifest,
        secrets_restored,
        audit_intact,
    };
    Ok((ctx, report))
}

/// The manifest's format and schema must be ones this build reads.
fn accept(m: &Manifest) -> Result<()> {
    if m.format != FORMAT {
        return Err(Error::invalid(format!(
            "this backup is in format {} and this Privacy Desk reads format {FORMAT}: update \
             Privacy Desk; nothing was restored",
            m.format
        )));
    }
    if m.schema_version > q::latest_schema() {
        return Err(Error::invalid(format!(
            "this backup was made by a newer Privacy Desk (schema {}, this one knows up to {}): \
             update Privacy Desk, then restore; nothing was restored",
            m.schema_version,
            q::latest_schema()
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// From the window: over a new install, finished at the next start

/// The marker in the data directory naming the restored copy to move in at the next start.
const PENDING: &str = "restore-pending";
const STAGED_PREFIX: &str = ".privacy-desk-restore-";

/// Whether the install holds nothing an officer did or received (no processor, event, request
/// or audit entry): the window may restore a backup over it.
pub fn is_new_install(ctx: &Context) -> Result<bool> {
    Ok(!q::inspect(ctx.db.path())?.counts.holds_records())
}

/// Restores `file` for the window, whose new install is open in `ctx`: into a new folder
/// beside the data directory (checked as [`restore`] does), then a marker in the data
/// directory; the app restarts and [`finish_pending_restore`] moves the copy in before the
/// database is opened. Refused unless [`is_new_install`].
pub fn restore_over_new_install(
    ctx: &Context,
    file: &Path,
    passphrase: &Secret,
) -> Result<RestoreReport> {
    if !is_new_install(ctx)? {
        return Err(Error::invalid(
            "this install already holds records: a backup is restored only into a new install \
             (start Privacy Desk with another data folder); nothing was restored",
        ));
    }
    let data_dir = &ctx.data_dir;
    let parent = data_dir
        .parent()
        .ok_or_else(|| Error::invalid("the data directory has no parent folder"))?;
    let staged = parent.join(format!(
        "{STAGED_PREFIX}{}",
        crate::files::random_name_part()?
    ));
    let (restored, report) = restore(&staged, file, passphrase)?;
    restored.db.shutdown();
    drop(restored);
    let marker = data_dir.join(PENDING);
    crate::files::write_private(&marker, |f| {
        use std::io::Write;
        f.write_all(staged.to_string_lossy().as_bytes())
            .map_err(|e| Error::Io(format!("cannot write {}: {e}", PENDING)))
    })
    .inspect_err(|_| {
        let _ = fs::remove_dir_all(&staged);
    })?;
    Ok(RestoreReport {
        data_dir: data_dir.display().to_string(),
        ..report
    })
}

/// At start, before the database is opened: moves in a copy [`restore_over_new_install`]
/// left, over the new install it was restored onto. `Ok(false)`: nothing was pending.
pub fn finish_pending_restore(data_dir: &Path) -> Result<bool> {
    let marker = data_dir.join(PENDING);
    let Ok(named) = fs::read_to_string(&marker) else {
        return Ok(false);
    };
    let staged = PathBuf::from(named.trim());
    let ours = staged.parent() == data_dir.parent()
        && staged
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(STAGED_PREFIX));
    let db = data_dir.join(DB_FILE);
    let new_install =
        || -> Result<bool> { Ok(!db.exists() || !q::inspect(&db)?.counts.holds_records()) };
    if !ours || !staged.join(DB_FILE).is_file() || !new_install()? {
        // Not one of ours, gone, or the install was used meanwhile: keep what is here, and
        // remove the restored copy (it holds personal data nothing will read).
        if ours {
            let _ = fs::remove_dir_all(&staged);
        }
        let _ = fs::remove_file(&marker);
        return Ok(false);
    }
    let io = |e: std::io::Error| Error::Io(format!("cannot move the restored database in: {e}"));
    for suffix in ["", "-wal", "-shm"] {
        let name = format!("{DB_FILE}{suffix}");
        match fs::remove_file(data_dir.join(&name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        }
        let from = staged.join(&name);
        if from.exists() {
            fs::rename(&from, data_dir.join(&name)).map_err(io)?;
        }
    }
    let _ = fs::remove_dir_all(&staged);
    fs::remove_file(&marker).map_err(io)?;
    // The install's keychain marker named the folder it was restored in: name this one, or
    // `doctor` elsewhere would take its entries for a deleted install's.
    let ctx = Context::open(data_dir)?;
    ctx.keychain.mark_install();
    ctx.db.shutdown();
    Ok(true)
}
