//! Where the window may have files written: only to a place the officer chose in a save or
//! folder dialog that the app itself opened (the dialog runs here, in Rust; the webview has no
//! dialog permission and cannot fake an answer), or into the Downloads folder. A path the
//! webview sends that is neither is refused, so a compromised page cannot have the app write
//! an access package (or anything) wherever it likes.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use privacy_desk_core::error::{Error, Result};
use privacy_desk_core::files;

/// The dialog answers not yet used; each allows one write.
#[derive(Default)]
pub struct Destinations {
    chosen: Mutex<Vec<PathBuf>>,
    /// The open dialog's answers not yet used: files the window may have read (a backup to
    /// restore), so a page cannot have the app read a file of its choosing.
    opened: Mutex<Vec<PathBuf>>,
}

/// The most answers kept: older ones (the officer chose, then did not export) are forgotten.
const KEPT: usize = 16;

impl Destinations {
    /// Remembers a dialog's answer.
    pub fn record(&self, path: PathBuf) {
        let mut chosen = self.chosen.lock().unwrap_or_else(|p| p.into_inner());
        chosen.push(path);
        let over = chosen.len().saturating_sub(KEPT);
        chosen.drain(..over);
    }

    /// Remembers the open dialog's answer.
    pub fn record_opened(&self, path: PathBuf) {
        let mut opened = self.opened.lock().unwrap_or_else(|p| p.into_inner());
        opened.push(path);
        let over = opened.len().saturating_sub(KEPT);
        opened.drain(..over);
    }

    /// The file `path` may be read: one of the open dialog's last answers (a read does not use
    /// it up: a mistyped passphrase can be tried again).
    pub fn opened(&self, path: &str) -> Result<PathBuf> {
        let p = PathBuf::from(path);
        let opened = self.opened.lock().unwrap_or_else(|e| e.into_inner());
        if !opened.iter().any(|c| c == &p) {
            return Err(Error::invalid(
                "the app reads only a file you chose in its open dialog: choose it again",
            ));
        }
        Ok(p)
    }

    /// The file `path` may be written: a dialog's answer (used up now) or a file in Downloads.
    pub fn file(&self, path: &str) -> Result<PathBuf> {
        self.allow(path, false)
    }

    /// The folder `path` may receive a package: a dialog's answer or Downloads itself (or a
    /// folder inside it).
    pub fn folder(&self, path: &str) -> Result<PathBuf> {
        self.allow(path, true)
    }

    fn allow(&self, path: &str, is_dir: bool) -> Result<PathBuf> {
        let p = PathBuf::from(path);
        let mut chosen = self.chosen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = chosen.iter().position(|c| c == &p) {
            return Ok(chosen.remove(i));
        }
        drop(chosen);
        if in_downloads(&p, is_dir) {
            return Ok(p);
        }
        Err(Error::invalid(
            "the app writes only where you chose in its save dialog, or into your Downloads \
             folder: choose the place again",
        ))
    }
}

fn in_downloads(p: &Path, is_dir: bool) -> bool {
    // Only looked at, not created: a refused path leaves no folder behind.
    files::downloads_path().is_ok_and(|d| files::inside(&d, p, is_dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dialog_answers_once_each_or_downloads() {
        let tmp = tempfile::tempdir().unwrap();
        let answer = tmp.path().join("ropa.csv");
        let d = Destinations::default();
        let s = answer.to_str().unwrap();
        assert!(d.file(s).is_err(), "not chosen yet");
        d.record(answer.clone());
        assert_eq!(d.file(s).unwrap(), answer);
        assert!(d.file(s).is_err(), "an answer allows one write");
        let downloads = files::downloads_dir().unwrap();
        let inside = downloads.join("activity.csv");
        assert!(d.file(inside.to_str().unwrap()).is_ok());
        assert!(d.folder(downloads.to_str().unwrap()).is_ok());
        assert!(d.folder(tmp.path().to_str().unwrap()).is_err());
        assert!(d.file("relative.csv").is_err());
        for i in 0..KEPT + 4 {
            d.record(tmp.path().join(format!("{i}")));
        }
        assert!(d.file(tmp.path().join("0").to_str().unwrap()).is_err());
        assert!(d
            .file(tmp.path().join(format!("{}", KEPT + 3)).to_str().unwrap())
            .is_ok());
    }
}
