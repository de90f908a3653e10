//! The install's keychain: its namespace, the database's record of the processor entries it
//! wrote (`keychain_entries`), the install marker, and the listing of every install's
//! entries for `doctor` (`docs/adr/0005-keychain-namespaced-by-install.md`). Entries are
//! kept by a `Keychain`: the OS one in the product.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

#[cfg(not(test))]
use super::os::OsKeychain;
use super::{Keychain, Secret, SecretKind};
use crate::error::{Error, Result};
use crate::store::{install, Db};

/// The install's keychain: entries of its namespace only.
#[derive(Clone)]
pub struct InstallKeychain {
    keychain: Arc<dyn Keychain>,
    namespace: String,
    /// The data directory, written into the install's marker entry (see [`MARKER`]).
    data_dir: Option<PathBuf>,
    /// The database's record of the processor entries it wrote. `None` for the app-wide view
    /// ([`InstallKeychain::app_wide`]): processor entries are then refused.
    ledger: Option<Db>,
}

impl fmt::Debug for InstallKeychain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstallKeychain")
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

fn name(namespace: &str, account: &str) -> String {
    format!("{namespace}/{account}")
}

impl InstallKeychain {
    /// The keychain of the install whose database is `db`, in `data_dir`, its entries kept
    /// by `keychain` (the OS's: `Context::open`). The first open of a database upgraded from
    /// before v10 records its old namespace ([`legacy_namespace`]), so that it keeps its
    /// secrets.
    pub(crate) fn open(
        keychain: Arc<dyn Keychain>,
        db: &Db,
        data_dir: &Path,
    ) -> Result<InstallKeychain> {
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
        #[cfg(test)]
        super::memory::register(&namespace, &keychain);
        Ok(InstallKeychain {
            keychain,
            namespace,
            data_dir: Some(canonical(data_dir)),
            ledger: Some(db.clone()),
        })
    }

    /// App-wide entries only (the hash key, the tunnel token) of `namespace`: for the
    /// database writer thread, which cannot wait on the database. Processor entries are
    /// refused.
    pub(crate) fn app_wide(namespace: String) -> InstallKeychain {
        #[cfg(not(test))]
        let keychain: Arc<dyn Keychain> = Arc::new(OsKeychain);
        // The keychain the unit test opened this namespace's install on.
        #[cfg(test)]
        let keychain = super::memory::registered(&namespace);
        InstallKeychain {
            keychain,
            namespace,
            data_dir: None,
            ledger: None,
        }
    }

    /// The namespace every entry of this install is filed under.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn ledger(&self) -> Result<&Db> {
        self.ledger.as_ref().ok_or_else(|| {
            Error::Keychain("processor secrets are not readable from the database writer".into())
        })
    }

    fn processor_entry(&self, processor_id: i64, kind: SecretKind) -> String {
        name(
            &self.namespace,
            &format!("processor/{processor_id}/{}", kind.slug()),
        )
    }

    fn app_entry(&self, kind: SecretKind) -> String {
        name(&self.namespace, &format!("app/{}", kind.slug()))
    }

    /// Stores a processor's secret, recording the entry in the database first (a record
    /// without an entry reads as no secret; an entry without a record would be an orphan).
    pub fn set(&self, processor_id: i64, kind: SecretKind, secret: &Secret) -> Result<()> {
        let slug = kind.slug();
        self.ledger()?
            .write(move |c| install::record_entry(c, processor_id, slug))?;
        self.keychain
            .set(&self.processor_entry(processor_id, kind), secret)?;
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
        self.keychain.get(&self.processor_entry(processor_id, kind))
    }

    /// Whether this database recorded writing a processor's `kind` entry.
    pub fn is_recorded(&self, processor_id: i64, kind: SecretKind) -> Result<bool> {
        let slug = kind.slug();
        self.ledger()?
            .read(|c| install::is_recorded(c, processor_id, slug))
    }

    pub fn delete(&self, processor_id: i64, kind: SecretKind) -> Result<()> {
        let ledger = self.ledger()?;
        self.keychain
            .delete(&self.processor_entry(processor_id, kind))?;
        let slug = kind.slug();
        ledger.write(move |c| install::forget_entry(c, processor_id, slug))
    }

    /// Writes the marker naming this install's data directory again (a restored install
    /// moved into place).
    pub(crate) fn mark_install(&self) {
        self.write_marker();
    }

    /// Writes (again) the marker naming this install's data directory. Best effort: without
    /// it `doctor` reports the namespace as unknown, never as an orphan.
    fn write_marker(&self) {
        let Some(dir) = &self.data_dir else { return };
        let marker = Secret::new(dir.to_string_lossy());
        if self
            .keychain
            .set(&name(&self.namespace, MARKER), &marker)
            .is_err()
        {
            tracing::warn!("the install marker could not be written to the keychain");
        }
    }

    /// App-wide secrets (the tunnel token), not tied to a processor.
    pub(crate) fn set_app(&self, kind: SecretKind, secret: &Secret) -> Result<()> {
        self.keychain.set(&self.app_entry(kind), secret)?;
        self.write_marker();
        Ok(())
    }

    pub fn get_app(&self, kind: SecretKind) -> Result<Option<Secret>> {
        self.keychain.get(&self.app_entry(kind))
    }

    #[cfg(test)]
    pub(crate) fn delete_app(&self, kind: SecretKind) -> Result<()> {
        self.keychain.delete(&self.app_entry(kind))
    }
}

// ---------------------------------------------------------------------------------------------
// Backups: the entries a backup carries, written back by a restore

/// A keychain entry inside a backup: its account in the namespace, and its secret.
pub struct Carried {
    /// `app/{kind}` or `processor/{id}/{kind}`.
    pub account: String,
    pub secret: Secret,
}

/// `processor/{id}/{kind}` → (id, kind): a processor entry's account (of any kind, known to
/// this build or not: `doctor` lists those too).
pub(crate) fn processor_account(account: &str) -> Option<(i64, &str)> {
    let rest = account.strip_prefix("processor/")?;
    let (id, kind) = rest.split_once('/')?;
    Some((id.parse().ok()?, kind))
}

/// An account of a carried entry, parsed: the processor (none for an app-wide entry) and a
/// kind this build knows.
pub(crate) fn parse_account(account: &str) -> Option<(Option<i64>, SecretKind)> {
    if let Some(kind) = account.strip_prefix("app/") {
        return Some((None, SecretKind::from_slug(kind)?));
    }
    let (id, kind) = processor_account(account).filter(|(id, _)| *id > 0)?;
    Some((Some(id), SecretKind::from_slug(kind)?))
}

impl InstallKeychain {
    /// The entries a backup carries: always the audit and hash key (without it the audit trail
    /// cannot be verified, nor an erased subject's later events recognised); with
    /// `credentials`, also every processor entry the database recorded and the tunnel token.
    /// Never the backup passphrase.
    pub(crate) fn entries_for_backup(&self, credentials: bool) -> Result<Vec<Carried>> {
        let mut out = Vec::new();
        let mut app = vec![SecretKind::HashKey];
        if credentials {
            app.push(SecretKind::TunnelToken);
        }
        for kind in app {
            if let Some(secret) = self.get_app(kind)? {
                out.push(Carried {
                    account: format!("app/{}", kind.slug()),
                    secret,
                });
            }
        }
        if credentials {
            for (id, slug) in self.ledger()?.read(install::recorded_entries)? {
                let Some(kind) = SecretKind::from_slug(&slug) else {
                    continue;
                };
                if let Some(secret) = self.get(id, kind)? {
                    out.push(Carried {
                        account: format!("processor/{id}/{slug}"),
                        secret,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Writes one entry a backup carried (a restore), refusing an account this build does not
    /// know and the backup passphrase.
    pub(crate) fn restore_entry(&self, entry: &Carried) -> Result<()> {
        match parse_account(&entry.account) {
            Some((_, SecretKind::BackupPassphrase)) | None => Err(Error::invalid(format!(
                "the backup holds an unknown keychain entry ({})",
                entry.account
            ))),
            Some((None, kind)) => self.set_app(kind, &entry.secret),
            Some((Some(id), kind)) => self.set(id, kind, &entry.secret),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Every install's entries (for `doctor`)

/// An entry filed under [`super::SERVICE`], by name (its secret is never read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub namespace: String,
    /// The name inside the namespace: `processor/{id}/{kind}`, `app/{kind}`, [`MARKER`].
    pub account: String,
}

impl InstallKeychain {
    /// The entries of every namespace in this keychain (every install on this machine that
    /// used it, deleted ones included), sorted. `Ok(None)`: this platform's keychain cannot
    /// be listed.
    pub(crate) fn list_all(&self) -> Result<Option<Vec<Listed>>> {
        let Some(names) = self.keychain.list()? else {
            return Ok(None);
        };
        let mut out: Vec<Listed> = names
            .iter()
            .filter_map(|n| {
                let (ns, account) = n.split_once('/')?;
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

    /// The data directory named by the marker of `namespace` (any install's), if it has one.
    pub(crate) fn marker_of(&self, namespace: &str) -> Result<Option<PathBuf>> {
        Ok(self
            .keychain
            .get(&name(namespace, MARKER))?
            .map(|p| PathBuf::from(p.expose())))
    }

    /// Deletes one entry by name, of any namespace (`doctor --remove-orphans`).
    pub(crate) fn remove_listed(&self, entry: &Listed) -> Result<()> {
        self.keychain
            .delete(&name(&entry.namespace, &entry.account))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::memory::MemoryKeychain;

    /// An install of `keychain` in `dir`, whose database holds processor 1.
    fn open(keychain: &Arc<dyn Keychain>, dir: &Path) -> (Db, InstallKeychain) {
        use crate::store::processors::{insert, NewProcessor};
        let db = Db::open(dir).unwrap();
        db.write(|c| insert(c, &NewProcessor::bare_stripe("e")))
            .unwrap();
        let kc = InstallKeychain::open(keychain.clone(), &db, dir).unwrap();
        (db, kc)
    }

    #[test]
    fn a_carried_account_parses_only_to_a_kind_this_build_writes() {
        assert_eq!(
            parse_account("app/hash-key"),
            Some((None, SecretKind::HashKey))
        );
        assert_eq!(
            parse_account("processor/3/signing-secret"),
            Some((Some(3), SecretKind::SigningSecret))
        );
        for bad in [
            "app/other",
            "processor/0/api-key",
            "processor/3/api-key/x",
            "x/hash-key",
        ] {
            assert_eq!(parse_account(bad), None, "{bad}");
        }
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
        let keychain = MemoryKeychain::empty();
        let (db, kc) = open(&keychain, dir.path());
        assert_eq!(kc.namespace().len(), 32);
        assert_ne!(kc.namespace(), legacy_namespace(dir.path()));
        let row = db.read(install::get).unwrap().unwrap();
        assert_eq!(row.install_id, kc.namespace());
        assert!(!row.upgraded);
        db.shutdown();
        drop(db);
        // Deleted and recreated at the same path: a new namespace.
        std::fs::remove_dir_all(dir.path()).unwrap();
        assert_ne!(open(&keychain, dir.path()).1.namespace(), row.install_id);
    }

    #[test]
    fn a_processor_secret_is_read_only_where_this_database_recorded_it() {
        let dir = tempfile::tempdir().unwrap();
        let keychain = MemoryKeychain::empty();
        let (db, kc) = open(&keychain, dir.path());
        let secret = Secret::new("signing-secret-recorded");
        assert_eq!(kc.get(1, SecretKind::SigningSecret).unwrap(), None);
        kc.set(1, SecretKind::SigningSecret, &secret).unwrap();
        assert_eq!(kc.get(1, SecretKind::SigningSecret).unwrap(), Some(secret));
        assert_eq!(kc.get(1, SecretKind::ApiKey).unwrap(), None);
        let entry = format!("{}/processor/1/signing-secret", kc.namespace());
        assert!(db
            .read(|c| install::is_recorded(c, 1, "signing-secret"))
            .unwrap());

        // The entry without its record (another database wrote it under a reused id).
        db.write(|c| install::forget_entry(c, 1, "signing-secret"))
            .unwrap();
        assert!(keychain.get(&entry).unwrap().is_some());
        assert_eq!(kc.get(1, SecretKind::SigningSecret).unwrap(), None);

        // Deleting removes both; deleting what is not there is not an error.
        kc.set(
            1,
            SecretKind::SigningSecret,
            &Secret::new("signing-secret-again"),
        )
        .unwrap();
        kc.delete(1, SecretKind::SigningSecret).unwrap();
        assert_eq!(keychain.get(&entry).unwrap(), None);
        assert!(!db
            .read(|c| install::is_recorded(c, 1, "signing-secret"))
            .unwrap());
        kc.delete(1, SecretKind::SigningSecret).unwrap();
    }

    #[test]
    fn the_app_wide_view_reads_app_entries_only() {
        let dir = tempfile::tempdir().unwrap();
        let (_db, kc) = open(&MemoryKeychain::empty(), dir.path());
        let token = Secret::new("tunnel-token-for-the-app-wide-view");
        kc.set_app(SecretKind::TunnelToken, &token).unwrap();
        let app = InstallKeychain::app_wide(kc.namespace().to_owned());
        assert_eq!(app.get_app(SecretKind::TunnelToken).unwrap(), Some(token));
        let e = app.get(1, SecretKind::ApiKey).unwrap_err();
        assert_eq!(e.code(), "keychain");
        assert!(app.set(1, SecretKind::ApiKey, &Secret::new("k")).is_err());
        kc.delete_app(SecretKind::TunnelToken).unwrap();
        assert_eq!(app.get_app(SecretKind::TunnelToken).unwrap(), None);
    }

    #[test]
    fn writing_marks_the_install_and_every_namespace_is_listed_by_name() {
        let keychain = MemoryKeychain::empty();
        let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (_a_db, a) = open(&keychain, a_dir.path());
        let (_b_db, b) = open(&keychain, b_dir.path());
        assert_eq!(
            a.marker_of(a.namespace()).unwrap(),
            None,
            "nothing written yet"
        );
        a.set(1, SecretKind::EndpointToken, &Secret::new("token_a"))
            .unwrap();
        b.set_app(SecretKind::TunnelToken, &Secret::new("token_b"))
            .unwrap();
        // Either install reads any namespace's marker (a path, not a secret).
        assert_eq!(
            b.marker_of(a.namespace()).unwrap(),
            Some(canonical(a_dir.path()))
        );
        assert_eq!(
            a.marker_of(b.namespace()).unwrap(),
            Some(canonical(b_dir.path()))
        );

        let listed = |ns: &str, account: &str| Listed {
            namespace: ns.to_owned(),
            account: account.to_owned(),
        };
        let mut expected = vec![
            listed(a.namespace(), MARKER),
            listed(a.namespace(), "processor/1/endpoint-token"),
            listed(b.namespace(), MARKER),
            listed(b.namespace(), "app/tunnel-token"),
        ];
        expected.sort_by(|x, y| (&x.namespace, &x.account).cmp(&(&y.namespace, &y.account)));
        assert_eq!(a.list_all().unwrap(), Some(expected.clone()));
        assert_eq!(b.list_all().unwrap(), Some(expected));

        a.remove_listed(&listed(b.namespace(), "app/tunnel-token"))
            .unwrap();
        assert_eq!(b.get_app(SecretKind::TunnelToken).unwrap(), None);
    }
}
