//! Stripe: the webhook signature, the event model, and the REST client (the only code that
//! talks to Stripe's API, and the only user of reqwest).

pub mod client;
pub mod event;
pub mod redaction;
pub mod signature;
