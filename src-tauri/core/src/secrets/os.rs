//! The OS keychain (keyring): Secret Service on Linux, Keychain Services on macOS, Credential
//! Manager on Windows. The only `Keychain` of the product.

use std::collections::HashMap;

use super::{Keychain, Secret, SERVICE};
use crate::error::{Error, Result};

/// The OS keychain's entries under [`SERVICE`]. keyring keeps the store itself (one per
/// process, opened on first use), so this holds nothing.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OsKeychain;

fn entry(name: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(SERVICE, name).map_err(unavailable)
}

impl Keychain for OsKeychain {
    fn get(&self, name: &str) -> Result<Option<Secret>> {
        match entry(name)?.get_password() {
            Ok(s) => Ok(Some(Secret::new(s))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn set(&self, name: &str, secret: &Secret) -> Result<()> {
        entry(name)?
            .set_password(secret.expose())
            .map_err(unavailable)
    }

    fn delete(&self, name: &str) -> Result<()> {
        match entry(name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn list(&self) -> Result<Option<Vec<String>>> {
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
        Ok(Some(
            found
                .iter()
                .filter_map(|e| e.get_specifiers())
                .filter(|(service, _)| service == SERVICE)
                .map(|(_, name)| name)
                .collect(),
        ))
    }
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

/// keyring's error as ours. The two that carry an entry's data (undecodable bytes) are named
/// without it.
fn unavailable(e: keyring::Error) -> Error {
    match e {
        keyring::Error::BadEncoding(_) | keyring::Error::BadDataFormat(..) => Error::Keychain(
            "an entry in the OS keychain is damaged (its data cannot be decoded)".into(),
        ),
        e => Error::Keychain(format!(
            "the OS keychain is not available ({e}); on Linux start and unlock a Secret \
             Service provider such as GNOME Keyring or KeePassXC"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_carry_an_entrys_data() {
        let data = b"secret_not_utf8_\xff".to_vec();
        let shown = |e: Error| format!("{e} {e:?}");
        for e in [
            keyring::Error::BadEncoding(data.clone()),
            keyring::Error::BadDataFormat(data.clone(), "bad".into()),
        ] {
            let s = shown(unavailable(e));
            assert!(!s.contains("secret_not_utf8"), "{s}");
            assert!(!s.contains("115, 101, 99"), "{s}"); // the bytes, as Debug prints them
        }
        let s = shown(unavailable(keyring::Error::NoDefaultStore));
        assert!(s.contains("Secret Service"), "{s}");
    }
}
