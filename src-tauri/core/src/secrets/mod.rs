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

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::store::{install, Db};

mod keyed_hash;
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

/// The install's keychain: entries of its namespace only.
#[derive(Clone)]
pub struct Keychain {
    namespace: String,
    /// The data directory, written into the install's marker entry (see [`MARKER`]).
    data_dir: Option<PathBuf>,
    /// The database's record of the processor entries it wrote. `None` for the app-wide view
    /// ([`Keychain::app_wide`]): processor entries are then refused.
    ledger: Option<Db>,
}

impl fmt::Debug for Keychain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keychain")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// The account, inside each namespace, of the install's marker: its data directory (a path,
/// not a secret), so that `doctor` can tell a live install from a deleted or replaced one.
pub const MARKER: &str = "app/install";

/// The namespace entries of the data directory `dir` had before schema v10: a hash of its
/// canonical path. Adopted by a database upgraded from then; a new database never uses it.
pub fn legacy_namespace(dir: &Path) -> String {
    let canonical = canonical(dir);
    let digest = Sha256::digest(canonical.to_string_lossy().as_bytes());
    hex::encode(&digest[..8])
}

fn canonical(dir: &Path) -> PathBuf {
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
}

impl Keychain {
    /// The keychain of the install whose database is `db`, in `data_dir`. The first open of a
    /// database upgraded from before v10 records its old namespace
    /// ([`legacy_namespace`]), so that it keeps its secrets.
    pub fn open(db: &Db, data_dir: &Path) -> Result<Keychain> {
        let namespace = match db.read(install::keychain_namespace)? {
            Some(ns) => ns,
            None => {
                let legacy = legacy_namespace(data_dir);
                db.write(move |c| install::adopt_namespace(c, &legacy))?;
                db.read(install::keychain_namespace)?.ok_or_else(|| {
                    Error::Database("the database has no install id (schema v10)".into())
                })?
            }
        };
        Ok(Keychain {
            namespace,
            data_dir: Some(canonical(data_dir)),
            ledger: Some(db.clone()),
        })
    }

    /// App-wide entries only (the hash key, the tunnel token) of `namespace`: for the
    /// database writer thread, which cannot wait on the database. Processor entries are
    /// refused.
    pub fn app_wide(namespace: String) -> Keychain {
        Keychain {
            namespace,
            data_dir: None,
            ledger: None,
        }
    }

    /// The namespace every entry of this install is filed under.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn entry(&self, account: &str) -> Result<keyring::Entry> {
        named(&self.namespace, account)
    }

    fn ledger(&self) -> Result<&Db> {
        self.ledger.as_ref().ok_or_else(|| {
            Error::Keychain("processor secrets are not readable from the database writer".into())
        })
    }

    fn processor_account(processor_id: i64, kind: SecretKind) -> String {
        format!("processor/{processor_id}/{}", kind.slug())
    }

    /// Stores a processor's secret, recording the entry in the database first (a record
    /// without an entry reads as no secret; an entry without a record would be an orphan).
    pub fn set(&self, processor_id: i64, kind: SecretKind, secret: &Secret) -> Result<()> {
        let slug = kind.slug();
        self.ledger()?
            .write(move |c| install::record_entry(c, processor_id, slug))?;
        self.entry(&Self::processor_account(processor_id, kind))?
            .set_password(secret.expose())
            .map_err(unavailable)?;
        self.write_marker();
        Ok(())
    }

    /// A processor's secret, if this database wrote one.
    pub fn get(&self, processor_id: i64, kind: SecretKind) -> Result<Option<Secret>> {
        let slug = kind.slug();
        if !self
            .ledger()?
            .read(|c| install::is_recorded(c, processor_id, slug))?
        {
            return Ok(None);
        }
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
        let ledger = self.ledger()?;
        match self
            .entry(&Self::processor_account(processor_id, kind))?
            .delete_credential()
        {
            Ok(()) | Err(keyring::Error::NoEntry) => {}
            Err(e) => return Err(unavailable(e)),
        }
        let slug = kind.slug();
        ledger.write(move |c| install::forget_entry(c, processor_id, slug))
    }

    /// Writes (again) the marker naming this install's data directory. Best effort: without
    /// it `doctor` reports the namespace as unknown, never as an orphan.
    fn write_marker(&self) {
        let Some(dir) = &self.data_dir else { return };
        let written = self
            .entry(MARKER)
            .and_then(|e| e.set_password(&dir.to_string_lossy()).map_err(unavailable));
        if written.is_err() {
            tracing::warn!("the install marker could not be written to the keychain");
        }
    }
}

impl Keychain {
    /// App-wide secrets (the tunnel token), not tied to a processor.
    pub fn set_app(&self, kind: SecretKind, secret: &Secret) -> Result<()> {
        self.entry(&format!("app/{}", kind.slug()))?
            .set_password(secret.expose())
            .map_err(unavailable)?;
        self.write_marker();
        Ok(())
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

// ---------------------------------------------------------------------------------------------
// Every install's entries (for `doctor`)

/// An entry filed under [`SERVICE`], by name (its secret is never read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub namespace: String,
    /// The name inside the namespace: `processor/{id}/{kind}`, `app/{kind}`, [`MARKER`].
    pub account: String,
}

fn named(namespace: &str, account: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(SERVICE, &format!("{namespace}/{account}")).map_err(unavailable)
}

/// The search for every entry under [`SERVICE`], in the form this platform's store takes
/// (Secret Service and macOS: by service attribute; Windows: a pattern on the target name);
/// `None` where the store cannot search.
#[cfg(any(
    target_os = "macos",
    all(unix, not(any(target_os = "ios", target_os = "android")))
))]
fn search_spec() -> Option<HashMap<&'static str, String>> {
    Some(HashMap::from([("service", SERVICE.to_owned())]))
}

#[cfg(windows)]
fn search_spec() -> Option<HashMap<&'static str, String>> {
    Some(HashMap::from([("pattern", regex::escape(SERVICE))]))
}

#[cfg(not(any(
    windows,
    target_os = "macos",
    all(unix, not(any(target_os = "ios", target_os = "android")))
)))]
fn search_spec() -> Option<HashMap<&'static str, String>> {
    None
}

/// The entries of every namespace under [`SERVICE`] (every install on this machine that
/// used this keychain, deleted ones included). `Ok(None)`: this platform's keychain cannot be
/// listed.
pub fn list_all() -> Result<Option<Vec<Listed>>> {
    let Some(spec) = search_spec() else {
        return Ok(None);
    };
    if let Err(e) = keyring::Entry::store_status() {
        return Err(Error::Keychain(format!(
            "the OS keychain is not available ({e}); on Linux start and unlock a Secret \
             Service provider such as GNOME Keyring or KeePassXC"
        )));
    }
    let spec: HashMap<&str, &str> = spec.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let found = keyring_core::Entry::search(&spec).map_err(unavailable)?;
    let mut out: Vec<Listed> = found
        .iter()
        .filter_map(|e| e.get_specifiers())
        .filter(|(service, _)| service == SERVICE)
        .filter_map(|(_, user)| {
            let (ns, account) = user.split_once('/')?;
            Some(Listed {
                namespace: ns.to_owned(),
                account: account.to_owned(),
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.namespace, &a.account).cmp(&(&b.namespace, &b.account)));
    out.dedup();
    Ok(Some(out))
}

/// The data directory named by the marker of `namespace`, if it has one.
pub fn marker_of(namespace: &str) -> Result<Option<PathBuf>> {
    match named(namespace, MARKER)?.get_password() {
        Ok(p) => Ok(Some(PathBuf::from(p))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(unavailable(e)),
    }
}

/// Deletes one entry by name, of any namespace (`doctor --remove-orphans`).
pub fn remove_listed(entry: &Listed) -> Result<()> {
    match named(&entry.namespace, &entry.account)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(unavailable(e)),
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
    fn legacy_namespaces_differ_by_data_dir() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        assert_ne!(legacy_namespace(a.path()), legacy_namespace(b.path()));
        assert_eq!(legacy_namespace(a.path()).len(), 16);
    }

    #[test]
    fn new_databases_get_their_own_namespace_not_the_paths() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let kc = Keychain::open(&db, dir.path()).unwrap();
        assert_eq!(kc.namespace().len(), 32);
        assert_ne!(kc.namespace(), legacy_namespace(dir.path()));
        let row = db.read(install::get).unwrap().unwrap();
        assert_eq!(row.install_id, kc.namespace());
        assert!(!row.upgraded);
        db.shutdown();
        drop(db);
        // Deleted and recreated at the same path: a new namespace.
        std::fs::remove_dir_all(dir.path()).unwrap();
        let db = Db::open(dir.path()).unwrap();
        assert_ne!(
            Keychain::open(&db, dir.path()).unwrap().namespace(),
            row.install_id
        );
    }
}
