//! `privacy-desk-gui`: the desktop window (Tauri, WebKitGTK on Linux), plus the same command
//! line as `privacy-desk`. Users start `privacy-desk`, which becomes this program when no
//! subcommand is given (`src-tauri/cli/src/main.rs`).

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod app;
mod background;
#[cfg(test)]
mod bindings;
mod commands;
mod destinations;
mod state;
mod tray;

use clap::Parser;

fn main() {
    let cli = privacy_desk_cli::Cli::parse();
    std::process::exit(privacy_desk_cli::run(cli, app::run));
}
