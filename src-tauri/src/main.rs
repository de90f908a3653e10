//! `privacy-desk`: the program users run. With a subcommand it runs the workflow headless (the
//! command line of CONTRACT.md: the receiver, Stripe, requests, RoPA…); with none it becomes
//! `privacy-desk-gui`, installed beside it, which opens the window.
//!
//! Why two executables: this one is built from the same modules as the library minus the
//! window (`app/`, `commands/`), so it does not link WebKitGTK and its ~160 libraries. Their
//! loading and relocation alone cost ~45 MB of memory before `main` runs, which a background
//! receiver should not carry (docs/adr/0003-lean-headless-binary.md).

// The modules are shared with the library (`lib.rs`), where unused code is reported; here the
// window's callers are absent, so some functions are unused by design.
#![allow(dead_code)]

mod activity;
mod audit;
mod cli;
mod context;
mod csv_out;
mod dashboard;
mod deliveries;
mod doctor;
mod error;
mod files;
mod ingest;
mod processors;
mod receiver;
mod requests;
mod ropa;
mod secrets;
mod settings;
mod store;
mod stripe;
// Its workflows are re-exported from one file each; the window's uses of them are absent here.
#[allow(unused_imports)]
mod stripe_sync;
mod subjects;
mod time;
mod tunnel;
mod webhook;

use clap::Parser;

/// The window's executable, beside this one.
#[cfg(windows)]
const GUI: &str = "privacy-desk-gui.exe";
#[cfg(not(windows))]
const GUI: &str = "privacy-desk-gui";

/// Replaces this process by `privacy-desk-gui` with the same arguments and environment (on
/// Windows: runs it and exits with its status).
fn open_window(_data_dir: &std::path::Path) -> error::Result<()> {
    let exe = std::env::current_exe()
        .map_err(|e| error::Error::Io(format!("cannot find this program's location: {e}")))?;
    let gui = exe.with_file_name(GUI);
    if !gui.is_file() {
        return Err(error::Error::NotFound(format!(
            "the window program {} is missing: reinstall Privacy Desk (or `make build`)",
            gui.display()
        )));
    }
    let mut cmd = std::process::Command::new(&gui);
    cmd.args(std::env::args_os().skip(1));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let e = cmd.exec();
        Err(error::Error::Io(format!(
            "cannot start {}: {e}",
            gui.display()
        )))
    }
    #[cfg(not(unix))]
    {
        let status = cmd
            .status()
            .map_err(|e| error::Error::Io(format!("cannot start {}: {e}", gui.display())))?;
        std::process::exit(status.code().unwrap_or(1));
    }
}

fn main() {
    let cli = cli::Cli::parse();
    std::process::exit(cli::run(cli));
}
