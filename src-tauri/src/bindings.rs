//! TypeScript types of every command's arguments and results, generated from the Rust types
//! with ts-rs into `ui/src/lib/bindings/` and committed. The test below fails when the
//! committed files are stale; `make bindings` rewrites them.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use ts_rs::TS;

    fn export_all(dir: &Path) {
        // JSON numbers: every i64 here is an id or a count far below 2^53.
        let cfg = ts_rs::Config::new()
            .with_large_int("number")
            .with_out_dir(dir);
        macro_rules! export {
            ($($t:ty),* $(,)?) => { $( <$t>::export_all(&cfg).expect(stringify!($t)); )* };
        }
        export!(
            crate::commands::AppInfo,
            crate::commands::dashboard::Dashboard,
            crate::processors::Processor,
            crate::activity::ActivityQuery,
            crate::activity::ActivityPage,
            crate::activity::ActivityDetail,
            crate::subjects::SubjectPage,
            crate::deliveries::Delivery,
            crate::settings::Settings,
            crate::stripe_sync::KeySet,
            crate::stripe_sync::Check,
            crate::stripe_sync::ErasureMethod,
            crate::stripe_sync::Counts,
            crate::stripe_sync::CatchUpStatus,
            crate::stripe_sync::Registration,
            crate::stripe_sync::BackfillProgress,
            crate::stripe_sync::BackfillReport,
            crate::tunnel::Status,
            crate::ropa::Ropa,
            crate::ropa::Format,
            crate::requests::Request,
            crate::requests::RequestPage,
            crate::requests::Reminder,
            crate::requests::erasure::Plan,
            crate::requests::erasure::PlanItem,
            crate::requests::erasure::ErasureResult,
            crate::requests::erasure::RedactionJobOutcome,
            crate::requests::erasure::Receipt,
            crate::requests::access::AccessPackage,
            crate::requests::access::ManifestFile,
            crate::requests::access::Progress,
            crate::audit::AuditEntry,
            crate::audit::AuditCheck,
            crate::settings::FinancialRetention,
            crate::doctor::Report,
            crate::commands::requests::RetentionSettings,
            crate::commands::requests::RetentionPreset,
            crate::webhook::WebhookConfig,
        );
    }

    fn files(dir: &Path) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.path().extension().is_some_and(|x| x == "ts"))
                    .map(|e| {
                        (
                            e.file_name().to_string_lossy().into_owned(),
                            std::fs::read_to_string(e.path()).unwrap(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    #[test]
    fn typescript_bindings_are_up_to_date() {
        let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ui/src/lib/bindings");
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            let _ = std::fs::remove_dir_all(&committed);
            export_all(&committed);
            return;
        }
        let fresh = tempfile::tempdir().unwrap();
        export_all(fresh.path());
        assert!(
            files(fresh.path()) == files(&committed),
            "ui/src/lib/bindings is stale: run `make bindings` and commit the result"
        );
    }
}
