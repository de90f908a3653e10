//! Privacy Desk: GDPR/CCPA evidence and workflows for a small business, on its own laptop.
//! See ARCHITECTURE.md for the map of this crate and the rules on what may import what.

pub mod activity;
pub mod app;
pub mod audit;
mod bindings;
pub mod cli;
pub mod commands;
pub mod context;
pub mod csv_out;
pub mod dashboard;
pub mod deliveries;
pub mod doctor;
pub mod error;
pub mod files;
pub mod ingest;
pub mod processors;
#[cfg(test)]
mod props;
pub mod receiver;
pub mod requests;
pub mod ropa;
pub mod secrets;
pub mod settings;
pub mod store;
pub mod stripe;
pub mod stripe_sync;
pub mod subjects;
pub mod time;
pub mod tunnel;
pub mod webhook;

/// `privacy-desk` with no subcommand: the window (the lean `privacy-desk` executable, which is
/// built without `app`, becomes `privacy-desk-gui` instead: see `main.rs`).
pub(crate) fn open_window(data_dir: &std::path::Path) -> error::Result<()> {
    app::run(data_dir)
}
