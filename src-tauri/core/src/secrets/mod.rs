//! Secrets (signing secrets, endpoint tokens, API keys) live only in the OS keychain:
//! Secret Service on Linux, Keychain Services on macOS, Credential Manager on Windows.
//! In memory they are [`Secret`]s: Debug prints `<redacted>`, they do not serialize, and
//! their bytes are zeroed on drop.
//!
//! Entries are named `{namespace}/{account}` under one service, [`SERVICE`]. The namespace is
//! the install's: its database's random id (`store::install`), or for a database from before
//! schema v10 the hash of its data directory's path that named its entries then. Processor
//! entries (`processor/{id}/{kind}`) are read only if the database recorded writing them, so
//! a processor never sees an entry it did not write, even where an id comes back.
//!
//! Two layers: a `Keychain` keeps entries by name and knows nothing of installs; the
//! [`InstallKeychain`] on top of it (what `Context` holds) does the namespace, the record of
//! processor entries and the install marker. The product's `Keychain` is always the OS one
//! (`os.rs`); the core's unit tests put an in-memory one under the same `InstallKeychain`
//! (`memory.rs`, compiled only for them: no build of the product can keep secrets in memory
//! instead, whatever its environment says).

use std::fmt;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

mod install;
mod keyed_hash;
#[cfg(test)]
pub(crate) mod memory;
pub(crate) mod os;

pub use install::{legacy_namespace, Carried, InstallKeychain, Listed, MARKER};
pub(crate) use install::{parse_account, processor_account};
pub use keyed_hash::HashKey;

/// The keychain service name every entry is filed under.
pub const SERVICE: &str = "app.privacydesk.desktop";

/// A secret string. Deliberately not `Serialize`, not `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(Zeroizing::new(s.into()))
    }

    /// The secret's text, for the one place that must use it (HMAC key, HTTP header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Reads one secret line from `r` (stdin): trimmed, must not be empty.
    pub fn read_line(mut r: impl std::io::Read, what: &str) -> Result<Secret> {
        let mut buf = Zeroizing::new(String::new());
        r.read_to_string(&mut buf)
            .map_err(|e| Error::invalid(format!("cannot read the {what} from stdin: {e}")))?;
        let s = buf.trim();
        if s.is_empty() {
            return Err(Error::invalid(format!(
                "no {what} on stdin: pipe it in, e.g. `echo $SECRET | privacy-desk …`"
            )));
        }
        Ok(Secret::new(s))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What a keychain entry holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretKind {
    /// The `whsec_…` a processor signs its webhooks with.
    SigningSecret,
    /// The random token in a processor's webhook URL.
    EndpointToken,
    /// A Stripe restricted key (`rk_…`).
    ApiKey,
    /// The ngrok authtoken (app-wide: see [`InstallKeychain::set_app`]).
    TunnelToken,
    /// The key of the keyed hashes that name erased subjects and chain the audit trail
    /// (app-wide, generated once: see [`InstallKeychain::hash_key`]).
    HashKey,
    /// The passphrase scheduled backups are encrypted with (app-wide; never put in a backup).
    BackupPassphrase,
}

impl SecretKind {
    fn slug(self) -> &'static str {
        match self {
            SecretKind::SigningSecret => "signing-secret",
            SecretKind::EndpointToken => "endpoint-token",
            SecretKind::ApiKey => "api-key",
            SecretKind::TunnelToken => "tunnel-token",
            SecretKind::HashKey => "hash-key",
            SecretKind::BackupPassphrase => "backup-passphrase",
        }
    }

    const ALL: [SecretKind; 6] = [
        SecretKind::SigningSecret,
        SecretKind::EndpointToken,
        SecretKind::ApiKey,
        SecretKind::TunnelToken,
        SecretKind::HashKey,
        SecretKind::BackupPassphrase,
    ];

    fn from_slug(slug: &str) -> Option<SecretKind> {
        SecretKind::ALL.into_iter().find(|k| k.slug() == slug)
    }

    /// What it is, in the officer's words.
    pub fn title(self) -> &'static str {
        match self {
            SecretKind::SigningSecret => "webhook signing secret",
            SecretKind::EndpointToken => "webhook URL token",
            SecretKind::ApiKey => "Stripe restricted API key",
            SecretKind::TunnelToken => "ngrok authtoken",
            SecretKind::HashKey => "audit and hash key",
            SecretKind::BackupPassphrase => "backup passphrase",
        }
    }
}

/// Where entries are kept, by name (`{namespace}/{account}`, under [`SERVICE`]). Errors name
/// the entry at most, never its secret.
pub(crate) trait Keychain: Send + Sync {
    /// The entry's secret; `None` if there is no such entry.
    fn get(&self, name: &str) -> Result<Option<Secret>>;
    /// Creates or replaces the entry.
    fn set(&self, name: &str, secret: &Secret) -> Result<()>;
    /// Deletes the entry; one that is not there is not an error.
    fn delete(&self, name: &str) -> Result<()>;
    /// The name of every entry under [`SERVICE`], of every namespace (secrets are not read).
    /// `Ok(None)`: this keychain cannot be listed.
    fn list(&self) -> Result<Option<Vec<String>>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let s = Secret::new("whsec_do_not_print_me");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(&s)), "Some(<redacted>)");
    }

    #[test]
    fn reading_from_stdin_trims_and_refuses_empty() {
        let s = Secret::read_line(&b"  whsec_abc\n"[..], "signing secret").unwrap();
        assert_eq!(s.expose(), "whsec_abc");
        let e = Secret::read_line(&b" \n"[..], "signing secret").unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }
}
