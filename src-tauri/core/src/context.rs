//! Everything a workflow needs, opened once per process: the data directory, the database
//! and the keychain (namespaced by the database's install id). The CLI and the desktop app
//! build the same `Context`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::secrets::Keychain;
use crate::store::Db;

#[derive(Clone)]
pub struct Context {
    pub data_dir: PathBuf,
    pub db: Db,
    pub keychain: Keychain,
}

impl Context {
    pub fn open(data_dir: &Path) -> Result<Context> {
        let db = Db::open(data_dir)?;
        Ok(Context {
            data_dir: data_dir.to_path_buf(),
            keychain: Keychain::open(&db, data_dir)?,
            db,
        })
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
