//! The save and folder dialogs, opened from Rust so that their answers are known to be the
//! officer's (`crate::destinations`). Cancelled → `None`.

use std::path::PathBuf;

use tauri::{AppHandle, Manager};
use tauri_plugin_dialog::{DialogExt, FilePath};

use crate::state::AppState;
use privacy_desk_core::error::{Error, Result};

/// Asks where to save a file; the answer may then be written once.
pub async fn choose_save_path(
    app: AppHandle,
    default_name: String,
    filter_name: String,
    extension: String,
) -> Result<Option<String>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_file_name(default_name)
        .add_filter(filter_name, &[extension.as_str()])
        .save_file(move |p| drop(tx.send(p)));
    remember(&app, rx.await.ok().flatten())
}

/// Asks for a folder; the answer may then receive one package.
pub async fn choose_folder(app: AppHandle, title: String) -> Result<Option<String>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title(title)
        .pick_folder(move |p| drop(tx.send(p)));
    remember(&app, rx.await.ok().flatten())
}

/// Asks for a file to open (a backup to restore); the answer may then be read once.
pub async fn choose_open_path(
    app: AppHandle,
    filter_name: String,
    extension: String,
) -> Result<Option<String>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .add_filter(filter_name, &[extension.as_str()])
        .pick_file(move |p| drop(tx.send(p)));
    keep(rx.await.ok().flatten(), |path| {
        app.state::<AppState>().destinations.record_opened(path)
    })
}

fn remember(app: &AppHandle, answer: Option<FilePath>) -> Result<Option<String>> {
    keep(answer, |path| {
        app.state::<AppState>().destinations.record(path)
    })
}

/// A dialog's answer as a local path: handed to `record`, and returned as text for the page.
fn keep(answer: Option<FilePath>, record: impl FnOnce(PathBuf)) -> Result<Option<String>> {
    let Some(answer) = answer else {
        return Ok(None);
    };
    let path = answer
        .into_path()
        .map_err(|e| Error::invalid(format!("the dialog answered with no local path: {e}")))?;
    let shown = path.to_string_lossy().into_owned();
    record(path);
    Ok(Some(shown))
}
