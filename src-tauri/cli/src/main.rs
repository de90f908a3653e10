//! `privacy-desk`: the program users run. With a subcommand it runs the workflow headless (the
//! command line of CONTRACT.md: the receiver, Stripe, requests, RoPA…); with none it becomes
//! `privacy-desk-gui`, installed beside it, which opens the window.
//!
//! Why two executables: this one is built from the core and the CLI crates only (neither has
//! tauri in its manifest), so it does not link WebKitGTK and its ~160 libraries. Their
//! loading and relocation alone cost ~45 MB of memory before `main` runs, which a background
//! receiver should not carry (docs/adr/0003-lean-headless-binary.md).

use clap::Parser;
use privacy_desk_core::error;

/// The window's executable, beside this one.
#[cfg(windows)]
const GUI: &str = "privacy-desk-gui.exe";
#[cfg(not(windows))]
const GUI: &str = "privacy-desk-gui";

/// Replaces this process by `privacy-desk-gui` with the same arguments and environment (on
/// Windows: runs it and exits with its status).
fn open_window(_data_dir: &std::path::Path, _at_login: bool) -> error::Result<()> {
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
    let cli = privacy_desk_cli::Cli::parse();
    std::process::exit(privacy_desk_cli::run(cli, open_window));
}
