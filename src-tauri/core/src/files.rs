//! Files the app writes for the user (access packages, erasure receipts, RoPA exports, activity
//! CSVs) hold personal data. Each is written the same way: mode 0600 from its creation, into a
//! temporary file that is created new (`O_EXCL`: a link planted at that name is never
//! followed) with a random name in the target's own directory, synced, then renamed over the
//! target (which replaces a link planted there instead of writing through it). A failed write
//! leaves no half file.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Creates `path` with what `write` puts into the file handed to it.
pub(crate) fn write_private<T>(
    path: &Path,
    write: impl FnOnce(&mut File) -> Result<T>,
) -> Result<T> {
    let io = |e: std::io::Error| Error::Io(format!("cannot write {}: {e}", path.display()));
    let name = path
        .file_name()
        .ok_or_else(|| Error::invalid(format!("{} is not a file name", path.display())))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp: PathBuf = dir.join(format!(
        ".{}.{}.partial",
        name.to_string_lossy(),
        random_name_part()?
    ));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(io)?;
    let written = write(&mut file).and_then(|v| file.sync_all().map(|()| v).map_err(io));
    drop(file);
    let out = written.and_then(|v| std::fs::rename(&tmp, path).map(|()| v).map_err(io));
    if out.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    out
}

/// 64 random bits from the OS, hex: the part of a temporary file or folder's name nobody can
/// guess (so nobody can plant a link there first).
pub(crate) fn random_name_part() -> Result<String> {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce)
        .map_err(|e| Error::Io(format!("no randomness for a temporary name: {e}")))?;
    Ok(hex::encode(nonce))
}

/// Where the app saves a package unless the officer chooses a folder: the user's Downloads
/// folder (XDG user dirs on Linux), else `~/Downloads`; created if missing.
pub fn downloads_dir() -> Result<PathBuf> {
    let dir = downloads_path()?;
    std::fs::create_dir_all(&dir).map_err(|e| {
        Error::Io(format!(
            "cannot create {}: {e}; choose a folder instead",
            dir.display()
        ))
    })?;
    Ok(dir)
}

/// Where the Downloads folder is, without creating it.
pub fn downloads_path() -> Result<PathBuf> {
    let dirs = directories::UserDirs::new()
        .ok_or_else(|| Error::Io("cannot find your home folder: choose a folder instead".into()))?;
    Ok(dirs
        .download_dir()
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs.home_dir().join("Downloads")))
}

/// A name for a new file in `dir`: `stem.ext`, else `stem (2).ext`, `stem (3).ext`… (the first
/// that does not exist yet; a planted link counts as existing). `None` after 999 tries.
pub fn free_name(dir: &Path, stem: &str, ext: &str) -> Option<PathBuf> {
    (1..1000u32)
        .map(|n| match n {
            1 => dir.join(format!("{stem}.{ext}")),
            _ => dir.join(format!("{stem} ({n}).{ext}")),
        })
        .find(|p| std::fs::symlink_metadata(p).is_err())
}

/// Whether `target` (a file to create, or with `dir` a folder) lies in `folder`, both with
/// links resolved: a link in Downloads that points elsewhere does not count as Downloads.
pub fn inside(folder: &Path, target: &Path, is_dir: bool) -> bool {
    let place = if is_dir {
        Some(target)
    } else {
        target.parent()
    };
    match (folder.canonicalize(), place.map(Path::canonicalize)) {
        (Ok(folder), Some(Ok(place))) => place.starts_with(&folder),
        _ => false,
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn free_names_never_reuse_a_file_or_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let first = free_name(dir.path(), "ropa-2026-12-03", "xlsx").unwrap();
        assert_eq!(first, dir.path().join("ropa-2026-12-03.xlsx"));
        std::fs::write(&first, "earlier export").unwrap();
        std::os::unix::fs::symlink("/nonexistent", dir.path().join("ropa-2026-12-03 (2).xlsx"))
            .unwrap();
        assert_eq!(
            free_name(dir.path(), "ropa-2026-12-03", "xlsx").unwrap(),
            dir.path().join("ropa-2026-12-03 (3).xlsx")
        );
    }

    #[test]
    fn files_are_private_replace_a_planted_link_and_leave_nothing_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep me").unwrap();
        let out = dir.path().join("export.csv");
        std::os::unix::fs::symlink(&victim, &out).unwrap();

        write_private(&out, |f| {
            f.write_all(b"email\n")
                .map_err(|e| Error::Io(e.to_string()))
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
        let meta = std::fs::symlink_metadata(&out).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "email\n");

        let failed: Result<()> = write_private(&dir.path().join("half.zip"), |_| {
            Err(Error::invalid("stop"))
        });
        assert!(failed.is_err());
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left.len(), 2, "{left:?}");
    }
}
