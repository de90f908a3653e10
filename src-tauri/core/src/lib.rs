//! Privacy Desk's core: everything the product does, with no window and no command line. The
//! CLI (`privacy-desk-cli`) and the desktop app (`privacy-desk-desktop`) are thin shells over
//! this crate's public API. See ARCHITECTURE.md for the layers and what may import what.

// Foundations: no Privacy Desk module below them.
pub mod csv_out;
pub mod error;
pub mod files;
pub mod time;

// Durable state: the database and the keychain.
pub mod context;
pub mod secrets;
pub mod store;

// The audit trail and the Processing Activity Log's intake.
pub mod audit;
pub mod ingest;

// Processors' wire formats and APIs.
pub mod stripe;
pub mod webhook;

// What a privacy officer works with.
pub mod domain;

// Workflows on top.
pub mod backup;
pub mod doctor;
pub mod health;
pub mod receiver;
pub mod requests;
pub mod ropa;
pub mod stripe_sync;
pub mod tunnel;

// Background work, on top of everything it schedules.
pub mod jobs;

#[cfg(test)]
mod layers;
#[cfg(test)]
mod props;
