//! Stripe: the webhook signature and the event model. (The REST client arrives with the
//! Stripe API issue; it will be the only user of reqwest.)

pub mod event;
pub mod signature;
