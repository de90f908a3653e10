//! `privacy-desk doctor`: checks of the install. Today: the keychain entries filed under the
//! app's service that nothing will ever read again (orphans), and removing them.
//!
//! An entry is an orphan when it is:
//! - of this install's namespace, named `processor/{id}/{kind}`, but not recorded in the
//!   database (`keychain_entries`): its processor was deleted, or another database wrote it;
//! - of another namespace whose install is gone: its marker names a data directory that no
//!   longer holds a database, or holds one with another namespace (deleted and recreated);
//!   or the pre-v10 namespace of this data directory, which this database does not use.
//!
//! Other namespaces are listed as installs, `live` (their data directory's database uses
//! them) or `unknown` (no marker, e.g. an install elsewhere from before v10, or its database
//! cannot be read): never removed by `--remove-orphans`, only by `--remove-namespace`.
//! Secrets are never read, only entry names (and markers, which hold a path).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Serialize;
use serde_json::json;
use ts_rs::TS;

use crate::audit;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::secrets::{self, Listed};
use crate::store::{install, processors as q, DB_FILE};
use crate::time::to_rfc3339;

#[derive(Debug, Clone, Serialize, TS)]
#[ts(rename = "KeychainReport")]
pub struct Report {
    /// The database's random id, created with it.
    pub install_id: String,
    /// The prefix of this install's keychain entries: the install id, or for a database
    /// created before schema v10 its old data-directory namespace.
    pub keychain_namespace: String,
    /// The database was created before schema v10 (its entries keep their old namespace).
    pub upgraded: bool,
    pub created_at: String,
    /// `complete`, or `unsupported` where this platform's keychain cannot list its entries
    /// (then `orphans` and `other_installs` are empty: nothing could be looked at).
    #[ts(type = "string")]
    pub keychain_listing: &'static str,
    /// Entries of this install that are in use.
    #[ts(type = "number")]
    pub entries: usize,
    pub orphans: Vec<Orphan>,
    pub other_installs: Vec<OtherInstall>,
    /// Entries deleted by this run (`--remove-orphans`, `--remove-namespace`).
    pub removed: Vec<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct Orphan {
    /// `{namespace}/{account}`: the entry's name in the keychain (never its secret).
    pub entry: String,
    pub namespace: String,
    /// For `processor/{id}/{kind}` entries.
    pub processor_id: Option<i64>,
    pub kind: Option<String>,
    /// `processor_deleted`, `not_recorded`, `install_deleted` or `install_replaced`.
    #[ts(type = "string")]
    pub reason: &'static str,
    /// The data directory the entry's install lived in, where known.
    pub data_dir: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct OtherInstall {
    pub namespace: String,
    /// From its marker; `null` when it has none.
    pub data_dir: Option<String>,
    #[ts(type = "number")]
    pub entries: usize,
    /// `live` or `unknown`.
    #[ts(type = "string")]
    pub status: &'static str,
}

/// What to remove.
#[derive(Debug, Clone, Default)]
pub struct Remove {
    pub orphans: bool,
    /// Every entry of these namespaces (other installs'; this install's is refused).
    pub namespaces: Vec<String>,
}

/// What became of another namespace's install.
enum Fate {
    Live,
    Unknown,
    Deleted,
    Replaced,
}

pub fn check(ctx: &Context, remove: &Remove) -> Result<Report> {
    let own = ctx.keychain.namespace().to_owned();
    if remove.namespaces.contains(&own) {
        return Err(Error::invalid(format!(
            "namespace {own} is this install's own: `--remove-namespace` removes other \
             installs' entries only"
        )));
    }
    let row = ctx.db.read(install::get)?.ok_or_else(|| {
        Error::Database("the database has no install id: it was not migrated".into())
    })?;
    let mut report = Report {
        install_id: row.install_id,
        keychain_namespace: own.clone(),
        upgraded: row.upgraded,
        created_at: to_rfc3339(row.created_at),
        keychain_listing: "complete",
        entries: 0,
        orphans: Vec::new(),
        other_installs: Vec::new(),
        removed: Vec::new(),
    };
    let Some(listed) = ctx.keychain.list_all()? else {
        report.keychain_listing = "unsupported";
        return Ok(report);
    };
    let recorded: HashSet<(i64, String)> = ctx
        .db
        .read(install::recorded_entries)?
        .into_iter()
        .collect();
    let processors: HashSet<i64> = ctx.db.read(q::list)?.into_iter().map(|p| p.id).collect();

    let mut others: BTreeMap<String, Vec<Listed>> = BTreeMap::new();
    let mut removable: Vec<Listed> = Vec::new();
    for e in listed {
        if e.namespace != own {
            others.entry(e.namespace.clone()).or_default().push(e);
            continue;
        }
        match secrets::processor_account(&e.account) {
            Some((pid, kind)) if recorded.contains(&(pid, kind.to_owned())) => report.entries += 1,
            Some((pid, kind)) => {
                report.orphans.push(Orphan {
                    entry: format!("{}/{}", e.namespace, e.account),
                    namespace: e.namespace.clone(),
                    processor_id: Some(pid),
                    kind: Some(kind.to_owned()),
                    reason: if processors.contains(&pid) {
                        "not_recorded"
                    } else {
                        "processor_deleted"
                    },
                    data_dir: Some(ctx.data_dir.to_string_lossy().into_owned()),
                });
                if remove.orphans {
                    removable.push(e);
                }
            }
            // App-wide entries (hash key, tunnel token, marker) belong to the install.
            None => report.entries += 1,
        }
    }

    let legacy_here = secrets::legacy_namespace(&ctx.data_dir);
    for (ns, entries) in others {
        let marker = ctx.keychain.marker_of(&ns).ok().flatten();
        let fate = if ns == legacy_here {
            // This directory's entries from before v10; this database uses another namespace.
            Fate::Replaced
        } else {
            match &marker {
                Some(dir) => fate_of(dir, &ns),
                None => Fate::Unknown,
            }
        };
        let data_dir = marker
            .as_ref()
            .map(|d| d.to_string_lossy().into_owned())
            .or_else(|| (ns == legacy_here).then(|| ctx.data_dir.to_string_lossy().into_owned()));
        let explicit = remove.namespaces.contains(&ns);
        let reason = match fate {
            Fate::Deleted => "install_deleted",
            Fate::Replaced => "install_replaced",
            Fate::Live | Fate::Unknown => {
                report.other_installs.push(OtherInstall {
                    namespace: ns.clone(),
                    data_dir,
                    entries: entries.len(),
                    status: if matches!(fate, Fate::Live) {
                        "live"
                    } else {
                        "unknown"
                    },
                });
                if explicit {
                    removable.extend(entries);
                }
                continue;
            }
        };
        for e in entries {
            let processor = secrets::processor_account(&e.account);
            report.orphans.push(Orphan {
                entry: format!("{}/{}", e.namespace, e.account),
                namespace: e.namespace.clone(),
                processor_id: processor.map(|p| p.0),
                kind: processor.map(|p| p.1.to_owned()),
                reason,
                data_dir: data_dir.clone(),
            });
            if remove.orphans || explicit {
                removable.push(e);
            }
        }
    }
    for e in &removable {
        ctx.keychain.remove_listed(e)?;
        report
            .removed
            .push(format!("{}/{}", e.namespace, e.account));
    }
    if !report.removed.is_empty() {
        audit::record(
            ctx,
            audit::Entry::new(audit::USER, "keychain.orphans_removed").details(json!({
                "count": report.removed.len(),
                "namespaces": removable
                    .iter()
                    .map(|e| e.namespace.as_str())
                    .collect::<std::collections::BTreeSet<_>>(),
            })),
        )?;
    }
    Ok(report)
}

/// Whether the install of namespace `ns`, whose marker names `dir`, is still there.
fn fate_of(dir: &Path, ns: &str) -> Fate {
    let db = dir.join(DB_FILE);
    match db.try_exists() {
        Ok(false) => return Fate::Deleted,
        Ok(true) => {}
        Err(_) => return Fate::Unknown,
    }
    match install::peek_namespace(&db) {
        Ok(Some(found)) if found == ns => Fate::Live,
        Ok(Some(_)) => Fate::Replaced,
        // From before v10, not opened since its upgrade, or unreadable: cannot tell.
        Ok(None) | Err(_) => Fate::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::processors;
    use crate::secrets::memory::MemoryKeychain;
    use crate::secrets::{Keychain, Secret, SecretKind, MARKER};

    #[test]
    fn processor_accounts_parse() {
        assert_eq!(
            secrets::processor_account("processor/12/signing-secret"),
            Some((12, "signing-secret"))
        );
        assert_eq!(secrets::processor_account("app/hash-key"), None);
        assert_eq!(secrets::processor_account(MARKER), None);
        assert_eq!(secrets::processor_account("processor/x/api-key"), None);
    }

    /// The orphans of `report` in `namespace`: (account, reason).
    fn orphans_in(report: &Report, namespace: &str) -> Vec<(String, &'static str)> {
        let mut v: Vec<_> = report
            .orphans
            .iter()
            .filter(|o| o.namespace == namespace)
            .map(|o| (o.entry[namespace.len() + 1..].to_owned(), o.reason))
            .collect();
        v.sort();
        v
    }

    fn pairs(v: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
        v.iter().map(|(a, r)| (a.to_string(), *r)).collect()
    }

    /// An install of `keychain` in `dir` with one Stripe processor; its namespace.
    fn install_with_a_processor(keychain: &Arc<dyn Keychain>, dir: &Path) -> String {
        let ctx = Context::open_on(keychain.clone(), dir).unwrap();
        processors::add_stripe(&ctx, None, None).unwrap();
        ctx.db.shutdown();
        ctx.keychain.namespace().to_owned()
    }

    /// Every fate of an entry, on one keychain shared by the installs of one machine (what
    /// `tests/integration/keychain.rs` also sees in the OS keychain).
    #[test]
    fn orphans_are_told_from_live_and_unknown_installs_and_only_they_are_removed() {
        let keychain = MemoryKeychain::empty();
        let root = tempfile::tempdir().unwrap();
        let here = root.path().join("data");
        let replaced = install_with_a_processor(&keychain, &here);
        std::fs::remove_dir_all(&here).unwrap();
        let deleted = install_with_a_processor(&keychain, &root.path().join("gone"));
        std::fs::remove_dir_all(root.path().join("gone")).unwrap();
        let live = install_with_a_processor(&keychain, &root.path().join("live"));
        let token = Secret::new("an-entry-of-no-known-install");
        for name in [
            "0123456789abcdef/app/tunnel-token".to_owned(),
            format!("{}/processor/1/api-key", secrets::legacy_namespace(&here)),
        ] {
            keychain.set(&name, &token).unwrap();
        }

        // The recreated install: processor 1 in use, processor 2 deleted behind the app's
        // back, processor 3's entry not recorded by this database.
        let ctx = Context::open_on(keychain.clone(), &here).unwrap();
        let ns = ctx.keychain.namespace().to_owned();
        for _ in 0..3 {
            processors::add_stripe(&ctx, None, None).unwrap();
        }
        ctx.db.write(|c| q::delete(c, 2)).unwrap();
        ctx.db
            .write(|c| install::forget_entry(c, 3, "endpoint-token"))
            .unwrap();

        let report = check(&ctx, &Remove::default()).unwrap();
        assert_eq!(report.keychain_namespace, ns);
        assert_eq!(report.keychain_listing, "complete");
        assert_eq!(report.entries, 2, "processor 1's token and the marker");
        assert_eq!(
            orphans_in(&report, &ns),
            pairs(&[
                ("processor/2/endpoint-token", "processor_deleted"),
                ("processor/3/endpoint-token", "not_recorded"),
            ])
        );
        assert_eq!(
            orphans_in(&report, &replaced),
            pairs(&[
                ("app/install", "install_replaced"),
                ("processor/1/endpoint-token", "install_replaced"),
            ])
        );
        let legacy = secrets::legacy_namespace(&here);
        assert_eq!(
            orphans_in(&report, &legacy),
            pairs(&[("processor/1/api-key", "install_replaced")])
        );
        assert_eq!(
            orphans_in(&report, &deleted),
            pairs(&[
                ("app/install", "install_deleted"),
                ("processor/1/endpoint-token", "install_deleted"),
            ])
        );
        let others: Vec<(&str, &str, usize)> = report
            .other_installs
            .iter()
            .map(|i| (i.namespace.as_str(), i.status, i.entries))
            .collect();
        let mut expected = vec![
            (live.as_str(), "live", 2),
            ("0123456789abcdef", "unknown", 1),
        ];
        expected.sort();
        assert_eq!(others, expected);
        assert!(report.removed.is_empty(), "listing removes nothing");
        assert!(
            !format!("{report:?}").contains(token.expose()),
            "no secret in the report"
        );

        // This install's own namespace is not another install's.
        let own = Remove {
            orphans: false,
            namespaces: vec![ns.clone()],
        };
        assert_eq!(check(&ctx, &own).unwrap_err().exit_code(), 2);

        let report = check(
            &ctx,
            &Remove {
                orphans: true,
                namespaces: Vec::new(),
            },
        )
        .unwrap();
        assert_eq!(report.removed.len(), 7, "{:?}", report.removed);
        let after = check(&ctx, &Remove::default()).unwrap();
        assert!(after.orphans.is_empty(), "{:?}", after.orphans);
        assert_eq!(
            after.other_installs.len(),
            2,
            "live and unknown installs are kept"
        );
        assert_eq!(
            after.entries, 3,
            "and the audit trail's key, made for the removal"
        );
        assert!(ctx
            .keychain
            .get(1, SecretKind::EndpointToken)
            .unwrap()
            .is_some());
        let audited = ctx.db.read(|c| crate::store::audit::list(c, None)).unwrap();
        assert!(audited
            .iter()
            .any(|e| e.action == "keychain.orphans_removed"));

        // Another install's entries go only when asked for by namespace.
        let explicit = Remove {
            orphans: false,
            namespaces: vec![live.clone()],
        };
        assert_eq!(check(&ctx, &explicit).unwrap().removed.len(), 2);
        let after = check(&ctx, &Remove::default()).unwrap();
        assert!(after.other_installs.iter().all(|i| i.namespace != live));
    }
}
