//! The tray icon that keeps the receiver reachable while the window is closed.

use std::sync::atomic::Ordering;

use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager};

use crate::state::AppState;

pub fn show_main_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// Creates the tray icon unless it exists.
pub fn ensure_tray(app: &AppHandle) {
    if app.tray_by_id("main").is_some() {
        return;
    }
    let built = (|| -> tauri::Result<()> {
        let open = MenuItem::with_id(app, "open", "Open Privacy Desk", true, None::<&str>)?;
        let quit = MenuItem::with_id(app, "quit", "Quit (stop receiving)", true, None::<&str>)?;
        let menu = Menu::with_items(app, &[&open, &quit])?;
        let mut tray = TrayIconBuilder::with_id("main")
            .tooltip("Privacy Desk — receiving webhooks")
            .menu(&menu)
            .on_menu_event(|app, e| match e.id.as_ref() {
                "open" => show_main_window(app),
                "quit" => {
                    app.state::<AppState>()
                        .quitting
                        .store(true, Ordering::SeqCst);
                    app.exit(0);
                }
                _ => {}
            });
        if let Some(icon) = app.default_window_icon() {
            tray = tray.icon(icon.clone());
        }
        tray.build(app)?;
        Ok(())
    })();
    if let Err(e) = built {
        tracing::warn!(error = %e, "the tray icon could not be created");
    }
}
