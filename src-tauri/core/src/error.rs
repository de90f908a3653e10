//! The one error type every layer returns. It crosses to the CLI (exit code + one sentence)
//! and to the frontend (`{code, message}`). Messages never carry personal data or secrets:
//! they name what was wrong (an id, a field, a file) and how to fix it.

use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user gave something we cannot use (exit 2).
    #[error("{0}")]
    InvalidInput(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The OS keychain refused or is not available.
    #[error("{0}")]
    Keychain(String),
    /// SQLite failed; the message is SQLite's, which never contains row values.
    #[error("database error: {0}")]
    Database(String),
    /// The database was written by a newer Privacy Desk.
    #[error("{0}")]
    SchemaTooNew(String),
    #[error("{0}")]
    Io(String),
    /// The background writer is gone or saturated.
    #[error("{0}")]
    Unavailable(String),
    /// A workflow cannot go ahead until something is done first (an erasure blocked by an
    /// open invoice, an extension after the deadline).
    #[error("{0}")]
    Blocked(String),
    /// Stored evidence failed its integrity check (the audit trail's hash chain).
    #[error("{0}")]
    Integrity(String),
    /// A decision that departs from the workflow needs its reason first (closing a request
    /// before its due step, an access package for an unverified identity) (exit 2).
    #[error("{0}")]
    ReasonRequired(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Every [`Error::code`], for the frontend's generated `ErrorCode` type.
    pub const CODES: &'static [&'static str] = &[
        "invalid_input",
        "not_found",
        "keychain",
        "database",
        "schema_too_new",
        "io",
        "unavailable",
        "blocked",
        "integrity",
        "reason_required",
    ];

    /// A stable, machine-readable code: the frontend branches on it, never on messages.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidInput(_) => "invalid_input",
            Error::NotFound(_) => "not_found",
            Error::Keychain(_) => "keychain",
            Error::Database(_) => "database",
            Error::SchemaTooNew(_) => "schema_too_new",
            Error::Io(_) => "io",
            Error::Unavailable(_) => "unavailable",
            Error::Blocked(_) => "blocked",
            Error::Integrity(_) => "integrity",
            Error::ReasonRequired(_) => "reason_required",
        }
    }

    /// CLI exit status: 2 for bad usage or input, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::InvalidInput(_) | Error::ReasonRequired(_) => 2,
            _ => 1,
        }
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidInput(msg.into())
    }

    pub fn not_found(msg: impl Into<String>) -> Self {
        Error::NotFound(msg.into())
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        // rusqlite's Display holds SQLite's message (constraint and column names, never the
        // bound values), so it is safe to show.
        Error::Database(e.to_string())
    }
}

/// What the frontend receives: `{code, message}`.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorPayload {
    pub code: &'static str,
    pub message: String,
}

impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        ErrorPayload {
            code: self.code(),
            message: self.to_string(),
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn codes_lists_every_code() {
        let one_of_each = [
            Error::InvalidInput(String::new()),
            Error::NotFound(String::new()),
            Error::Keychain(String::new()),
            Error::Database(String::new()),
            Error::SchemaTooNew(String::new()),
            Error::Io(String::new()),
            Error::Unavailable(String::new()),
            Error::Blocked(String::new()),
            Error::Integrity(String::new()),
            Error::ReasonRequired(String::new()),
        ];
        // A new variant fails to compile here until it is added above (and to CODES).
        for e in &one_of_each {
            match e {
                Error::InvalidInput(_)
                | Error::NotFound(_)
                | Error::Keychain(_)
                | Error::Database(_)
                | Error::SchemaTooNew(_)
                | Error::Io(_)
                | Error::Unavailable(_)
                | Error::Blocked(_)
                | Error::Integrity(_)
                | Error::ReasonRequired(_) => {}
            }
        }
        let codes: Vec<&str> = one_of_each.iter().map(Error::code).collect();
        assert_eq!(codes, Error::CODES);
    }
}
