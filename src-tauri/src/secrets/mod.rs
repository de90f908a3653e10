//! Secrets (signing secrets, endpoint tokens, API keys) live only in the OS keychain:
//! Secret Service on Linux, Keychain Services on macOS, Credential Manager on Windows.
//! In memory they are [`Secret`]s: Debug prints `<redacted>`, they do not serialize, and
//! their bytes are zeroed on drop.

use std::fmt;
use std::path::Path;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

mod keyed_hash;
pub use keyed_hash::HashKey;

/// The keychain service name every entry is filed under.
const SERVICE: &str = "app.privacydesk.desktop";

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
    /// The ngrok authtoken (app-wide: see [`Keychain::set_app`]).
    TunnelToken,
    /// The key of the keyed hashes that name erased subjects and chain the audit trail
    /// (app-wide, generated once: see [`Keychain::hash_key`]).
    HashKey,
}

impl SecretKind {
    fn slug(self) -> &'static str {
        match self {
            SecretKind::SigningSecret => "signing-secret",
            SecretKind::EndpointToken => "endpoint-token",
            SecretKind::ApiKey => "api-key",
            SecretKind::TunnelToken => "tunnel-token",
            SecretKind::HashKey => "hash-key",
        }
    }
}

/// The keychain, namespaced by data directory: two data dirs never share an entry.
#[derive(Clone, Debug)]
pub struct Keychain {
    namespace: String,
}

impl Keychain {
    pub fn for_data_dir(dir: &Path) -> Keychain {
        let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let digest = Sha256::digest(canonical.to_string_lossy().as_bytes());
        Keychain {
            namespace: hex::encode(&digest[..8]),
        }
    }

    fn entry(&self, account: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(SERVICE, &format!("{}/{account}", self.namespace)).map_err(unavailable)
    }

    fn processor_account(processor_id: i64, kind: SecretKind) -> String {
        format!("processor/{processor_id}/{}", kind.slug())
    }

    pub fn set(&self, processor_id: i64, kind: SecretKind, secret: &Secret) -> Result<()> {
        self.entry(&Self::processor_account(processor_id, kind))?
            .set_password(secret.expose())
            .map_err(unavailable)
    }

    pub fn get(&self, processor_id: i64, kind: SecretKind) -> Result<Option<Secret>> {
        match self
            .entry(&Self::processor_account(processor_id, kind))?
            .get_password()
        {
            Ok(s) => Ok(Some(Secret::new(s))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    pub fn delete(&self, processor_id: i64, kind: SecretKind) -> Result<()> {
        match self
            .entry(&Self::processor_account(processor_id, kind))?
            .delete_credential()
        {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

impl Keychain {
    /// App-wide secrets (the tunnel token), not tied to a processor.
    pub fn set_app(&self, kind: SecretKind, secret: &Secret) -> Result<()> {
        self.entry(&format!("app/{}", kind.slug()))?
            .set_password(secret.expose())
            .map_err(unavailable)
    }

    pub fn get_app(&self, kind: SecretKind) -> Result<Option<Secret>> {
        match self.entry(&format!("app/{}", kind.slug()))?.get_password() {
            Ok(s) => Ok(Some(Secret::new(s))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    pub fn delete_app(&self, kind: SecretKind) -> Result<()> {
        match self
            .entry(&format!("app/{}", kind.slug()))?
            .delete_credential()
        {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

fn unavailable(e: keyring::Error) -> Error {
    Error::Keychain(format!(
        "the OS keychain is not available ({e}); on Linux start and unlock a Secret Service \
         provider such as GNOME Keyring or KeePassXC"
    ))
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

    #[test]
    fn data_dirs_get_separate_namespaces() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        assert_ne!(
            Keychain::for_data_dir(a.path()).namespace,
            Keychain::for_data_dir(b.path()).namespace
        );
    }
}
