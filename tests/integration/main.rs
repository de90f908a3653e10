//! Integration tests: the real binary, a real SQLite file, the real OS keychain (Secret
//! Service, started by `make test`), real HTTP on loopback.

mod fake_stripe;
mod support;

mod backup;
mod cli;
mod crash;
mod crosscheck;
mod dsr;
mod dsr_review;
mod dsr_steps;
mod fixtures;
mod hostile;
mod jobs;
mod keychain;
mod replay;
mod ropa;
mod stripe_api;
