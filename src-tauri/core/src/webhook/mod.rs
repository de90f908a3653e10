//! The generic webhook processor: any system that signs its webhooks with HMAC-SHA256 of the
//! raw body (QuickBooks, Xero, NetSuite through a small script, …). Its configuration says
//! which header holds the signature, how it is encoded, and where (RFC 6901 JSON pointers) the
//! event id, type, time and the data subject's email are. Events become [`Incoming`] and go
//! through the same ingestion as Stripe's; the activity log shows them as `NAME:TYPE`.
//!
//! Minimisation: only the id, type, time, the subject's email (and name, if a pointer is
//! given) are kept. Other personal data in the body is not stored; its categories are noted
//! (by key names) for the RoPA's observed-vs-declared comparison.
//!
//! Replays. A signature of the body alone stays valid for ever: anyone who captured one
//! delivery could send it again at any time. So a processor can sign a timestamp too
//! ([`SignedTimestamp`]; `--timestamp`, on by default in the window's wizard), in the scheme of the Standard Webhooks specification
//! (<https://www.standardwebhooks.com/>, what Svix-based senders and its libraries in most
//! languages send): headers `webhook-id` and `webhook-timestamp` (unix seconds), and the HMAC
//! covers `{id}.{timestamp}.{body}`; a delivery whose signed time is further from now than the
//! tolerance (300 s, as Stripe's) is refused. Chosen over a scheme of our own because a sender
//! can use an existing library, and over Stripe's `t=…,v1=…` header because that one is
//! Stripe's alone. Senders that sign only the body (QuickBooks, Xero) are added without
//! it, as CONTRACT.md's `processor add webhook` describes; configurations stored before this
//! existed have no `timestamp` and keep working as before. Whatever the scheme, an event id already seen is answered `duplicate`,
//! also after the event was deleted (the replay cache, migrations/0011_replay_cache.sql).

mod config;
mod payload;
mod signature;

pub use config::{
    check_secret, SignatureEncoding, SignedTimestamp, WebhookConfig, DEFAULT_ID_HEADER,
    DEFAULT_SIGNATURE_HEADER, DEFAULT_TIMESTAMP_HEADER, DEFAULT_TOLERANCE_SECS, MAX_TOLERANCE_SECS,
};
pub use payload::{parse, PayloadError};
pub use signature::{sign, sign_delivery, verify, verify_delivery, SignatureError};

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests;
