//! For the core's unit tests only (this file is compiled with `cfg(test)`): a keychain in
//! memory, so that they need no D-Bus session and never write to the developer's own
//! keychain. Integration and e2e tests use the OS keychain, as the product does.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{Keychain, Secret};
use crate::error::Result;

/// Entries by name, gone with the value.
#[derive(Default)]
pub(crate) struct MemoryKeychain {
    entries: Mutex<BTreeMap<String, Secret>>,
}

impl MemoryKeychain {
    /// An empty keychain, to share among the installs of one test.
    pub(crate) fn empty() -> Arc<dyn Keychain> {
        Arc::new(MemoryKeychain::default())
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Secret>> {
        self.entries.lock().expect("memory keychain")
    }
}

impl Keychain for MemoryKeychain {
    fn get(&self, name: &str) -> Result<Option<Secret>> {
        Ok(self.entries().get(name).cloned())
    }

    fn set(&self, name: &str, secret: &Secret) -> Result<()> {
        self.entries().insert(name.to_owned(), secret.clone());
        Ok(())
    }

    fn delete(&self, name: &str) -> Result<()> {
        self.entries().remove(name);
        Ok(())
    }

    fn list(&self) -> Result<Option<Vec<String>>> {
        Ok(Some(self.entries().keys().cloned().collect()))
    }
}

/// The keychain each namespace's install was opened on in this test process: the database
/// writer's app-wide view is built from a namespace alone (`InstallKeychain::app_wide`).
static OPENED: Mutex<BTreeMap<String, Arc<dyn Keychain>>> = Mutex::new(BTreeMap::new());

pub(crate) fn register(namespace: &str, keychain: &Arc<dyn Keychain>) {
    OPENED
        .lock()
        .expect("opened keychains")
        .insert(namespace.to_owned(), keychain.clone());
}

/// The keychain `namespace` was opened on; an empty one if it was not (never the OS's).
pub(crate) fn registered(namespace: &str) -> Arc<dyn Keychain> {
    OPENED
        .lock()
        .expect("opened keychains")
        .get(namespace)
        .cloned()
        .unwrap_or_else(MemoryKeychain::empty)
}
