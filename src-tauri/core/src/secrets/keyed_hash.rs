//! Keyed hashes (HMAC-SHA256) that stand for personal data where it must not be kept: an
//! erased subject's email in requests, the audit trail and the suppression list. The key is
//! 32 random bytes generated once per data directory and kept only in the OS keychain, so the
//! database alone cannot be used to test guesses of an email, nor to re-forge the audit chain.

use std::collections::HashMap;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{InstallKeychain, Secret, SecretKind};
use crate::error::{Error, Result};

/// The key, in memory. Debug is redacted; not serialisable.
#[derive(Clone)]
pub struct HashKey(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for HashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashKey(<redacted>)")
    }
}

/// Keys already read from the keychain, by namespace (the linker asks once per event).
static CACHE: Mutex<Option<HashMap<String, HashKey>>> = Mutex::new(None);

impl HashKey {
    #[cfg(test)]
    /// A key from raw bytes (tests, benches).
    pub(crate) fn from_bytes(bytes: &[u8]) -> HashKey {
        HashKey(Zeroizing::new(bytes.to_vec()))
    }

    fn mac(&self, domain: &str, value: &[u8]) -> [u8; 32] {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        m.update(domain.as_bytes());
        m.update(&[0]);
        m.update(value);
        m.finalize().into_bytes().into()
    }

    /// The pseudonym of a data subject: `sh_` + 32 hex digits of HMAC("subject", email).
    /// `email` must be normalised.
    pub fn subject(&self, email: &str) -> String {
        format!(
            "sh_{}",
            hex::encode(&self.mac("subject", email.as_bytes())[..16])
        )
    }

    /// The suppression entry for a processor's customer id.
    pub fn customer(&self, processor_id: i64, customer_ref: &str) -> String {
        let v = format!("{processor_id}:{customer_ref}");
        format!(
            "sc_{}",
            hex::encode(&self.mac("customer", v.as_bytes())[..16])
        )
    }

    /// The replay-cache entry of a processor's event id (`replay_cache`, `events.replay_hash`):
    /// kept after the event is deleted, so that a replay of it is still recognised, without
    /// keeping the id in clear. 16 bytes: collisions are out of reach at any event volume.
    pub fn replay(&self, processor_id: i64, event_id: &str) -> [u8; 16] {
        let v = format!("{processor_id}:{event_id}");
        let mac = self.mac("replay", v.as_bytes());
        mac[..16].try_into().expect("16 of 32 bytes")
    }

    /// A full-length MAC for the audit chain.
    pub fn audit(&self, message: &[u8]) -> String {
        hex::encode(self.mac("audit", message))
    }
}

impl InstallKeychain {
    /// The data directory's hash key, generated and stored on first use.
    pub(crate) fn hash_key(&self) -> Result<HashKey> {
        if let Some(k) = self.existing_hash_key()? {
            return Ok(k);
        }
        let mut b = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut b[..])
            .map_err(|e| Error::Io(format!("the OS random number generator failed: {e}")))?;
        let secret = Secret::new(hex::encode(&b[..]));
        self.set_app(SecretKind::HashKey, &secret)?;
        // Read back: if another process created one first, theirs is in the keychain now.
        self.existing_hash_key()?.ok_or_else(|| {
            Error::Keychain("the hash key could not be stored in the keychain".into())
        })
    }

    /// The hash key if one was generated, else `None` (never creates one).
    pub(crate) fn existing_hash_key(&self) -> Result<Option<HashKey>> {
        let mut cache = CACHE.lock().expect("hash key cache");
        if let Some(k) = cache.as_ref().and_then(|m| m.get(self.namespace())) {
            return Ok(Some(k.clone()));
        }
        let Some(s) = self.get_app(SecretKind::HashKey)? else {
            return Ok(None);
        };
        let bytes = hex::decode(s.expose()).map_err(|_| {
            Error::Keychain("the hash key in the keychain is damaged (not hex)".into())
        })?;
        let key = HashKey(Zeroizing::new(bytes));
        cache
            .get_or_insert_with(HashMap::new)
            .insert(self.namespace().to_owned(), key.clone());
        Ok(Some(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_keyed_and_domain_separated() {
        let a = HashKey::from_bytes(b"key-a");
        let b = HashKey::from_bytes(b"key-b");
        let e = "alice@example.com";
        assert_eq!(a.subject(e), a.subject(e));
        assert_ne!(a.subject(e), b.subject(e));
        assert!(a.subject(e).starts_with("sh_") && a.subject(e).len() == 35);
        assert_ne!(a.customer(1, "cus_1"), a.customer(2, "cus_1"));
        assert_eq!(a.replay(1, "evt_1"), a.replay(1, "evt_1"));
        assert_ne!(a.replay(1, "evt_1"), a.replay(2, "evt_1"));
        assert_ne!(a.replay(1, "evt_1"), b.replay(1, "evt_1"));
        // "1:2" and "3" cannot be confused with "1" and "2:3": the processor id has no colon.
        assert_ne!(a.replay(1, "2:3"), a.replay(12, "3"));
        assert_eq!(format!("{a:?}"), "HashKey(<redacted>)");
    }

    #[test]
    fn the_hash_key_is_generated_once_and_read_by_the_writers_view() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::store::Db::open(dir.path()).unwrap();
        let keychain = crate::secrets::memory::MemoryKeychain::empty();
        let kc = InstallKeychain::open(keychain.clone(), &db, dir.path()).unwrap();
        assert!(
            kc.existing_hash_key().unwrap().is_none(),
            "never created by a read"
        );
        let key = kc.hash_key().unwrap();
        assert_eq!(
            kc.hash_key().unwrap().subject("a@b.c"),
            key.subject("a@b.c")
        );
        let stored = kc.get_app(SecretKind::HashKey).unwrap().unwrap();
        assert_eq!(stored.expose().len(), 64, "32 bytes, hex");

        // Another install's key, stored but not read yet: the database writer's app-wide view
        // finds it in the keychain (not in the cache of keys read).
        let other = tempfile::tempdir().unwrap();
        let other_db = crate::store::Db::open(other.path()).unwrap();
        let other_kc = InstallKeychain::open(keychain, &other_db, other.path()).unwrap();
        other_kc
            .set_app(SecretKind::HashKey, &Secret::new(hex::encode([7u8; 32])))
            .unwrap();
        let app = InstallKeychain::app_wide(other_kc.namespace().to_owned());
        let found = app.existing_hash_key().unwrap().unwrap();
        assert_eq!(
            found.subject("a@b.c"),
            HashKey::from_bytes(&[7u8; 32]).subject("a@b.c")
        );
        assert_ne!(found.subject("a@b.c"), key.subject("a@b.c"));

        // Damaged: named, never shown.
        let third = tempfile::tempdir().unwrap();
        let third_db = crate::store::Db::open(third.path()).unwrap();
        let third_kc = InstallKeychain::open(
            crate::secrets::memory::MemoryKeychain::empty(),
            &third_db,
            third.path(),
        )
        .unwrap();
        third_kc
            .set_app(SecretKind::HashKey, &Secret::new("not-hex-secret"))
            .unwrap();
        let e = third_kc.existing_hash_key().unwrap_err().to_string();
        assert!(
            e.contains("damaged") && !e.contains("not-hex-secret"),
            "{e}"
        );
    }
}
