//! Everything a workflow needs, opened once per process: the data directory, the database
//! and the keychain (namespaced by the database's install id). The CLI and the desktop app
//! build the same `Context`, on the OS keychain.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::secrets::{os::OsKeychain, InstallKeychain, Keychain};
use crate::store::Db;

#[derive(Clone)]
pub struct Context {
    pub data_dir: PathBuf,
    pub db: Db,
    pub keychain: InstallKeychain,
}

impl Context {
    /// The product's context: its secrets in the OS keychain, the only one it has.
    pub fn open(data_dir: &Path) -> Result<Context> {
        Self::open_on(Arc::new(OsKeychain), data_dir)
    }

    /// A context whose entries `keychain` keeps (unit tests: several installs may share one).
    pub(crate) fn open_on(keychain: Arc<dyn Keychain>, data_dir: &Path) -> Result<Context> {
        let db = Db::open(data_dir)?;
        Ok(Context {
            data_dir: data_dir.to_path_buf(),
            keychain: InstallKeychain::open(keychain, &db, data_dir)?,
            db,
        })
    }

    /// For the core's unit tests: a keychain in memory, its own (no D-Bus session needed, and
    /// the developer's keychain untouched).
    #[cfg(test)]
    pub(crate) fn open_in_memory_keychain(data_dir: &Path) -> Result<Context> {
        Self::open_on(crate::secrets::memory::MemoryKeychain::empty(), data_dir)
    }
}

/// `--data-dir`, else `PRIVACY_DESK_DATA_DIR` (clap reads both), else the OS data directory.
pub fn default_data_dir() -> Result<PathBuf> {
    directories::ProjectDirs::from("app", "privacydesk", "Privacy Desk")
        .map(|d| d.data_dir().to_path_buf())
        .ok_or_else(|| {
            Error::Io("cannot find the OS application-data directory: pass --data-dir DIR".into())
        })
}
