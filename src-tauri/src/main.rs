// No console window on Windows release builds; the CLI still works from a terminal.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use clap::Parser;

fn main() {
    let cli = privacy_desk::cli::Cli::parse();
    std::process::exit(privacy_desk::cli::run(cli));
}
