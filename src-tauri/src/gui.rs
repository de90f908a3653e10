//! `privacy-desk-gui`: the desktop window (Tauri, WebKitGTK on Linux), plus the same command
//! line as `privacy-desk`. Users start `privacy-desk`, which becomes this program when no
//! subcommand is given (see `main.rs`).

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use clap::Parser;

fn main() {
    let cli = privacy_desk::cli::Cli::parse();
    std::process::exit(privacy_desk::cli::run(cli));
}
