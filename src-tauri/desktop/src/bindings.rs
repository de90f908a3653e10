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
            privacy_desk_core::domain::processors::Processor,
            privacy_desk_core::domain::activity::ActivityQuery,
            privacy_desk_core::domain::activity::ActivityPage,
            privacy_desk_core::domain::activity::ActivityDetail,
            privacy_desk_core::domain::subjects::SubjectPage,
            privacy_desk_core::domain::deliveries::Delivery,
            privacy_desk_core::domain::settings::Settings,
            privacy_desk_core::stripe_sync::KeySet,
            privacy_desk_core::stripe_sync::Check,
            privacy_desk_core::stripe_sync::ErasureMethod,
            privacy_desk_core::stripe_sync::Counts,
            privacy_desk_core::stripe_sync::CatchUpStatus,
            privacy_desk_core::stripe_sync::Registration,
            privacy_desk_core::stripe_sync::BackfillProgress,
            privacy_desk_core::stripe_sync::BackfillReport,
            privacy_desk_core::tunnel::Status,
            privacy_desk_core::ropa::Ropa,
            privacy_desk_core::ropa::Format,
            privacy_desk_core::requests::Request,
            privacy_desk_core::requests::RequestPage,
            privacy_desk_core::requests::Reminder,
            privacy_desk_core::requests::erasure::Plan,
            privacy_desk_core::requests::erasure::PlanItem,
            privacy_desk_core::requests::erasure::ErasureResult,
            privacy_desk_core::requests::erasure::RedactionJobOutcome,
            privacy_desk_core::requests::erasure::Receipt,
            privacy_desk_core::requests::access::AccessPackage,
            privacy_desk_core::requests::access::ManifestFile,
            privacy_desk_core::requests::access::Progress,
            privacy_desk_core::audit::AuditEntry,
            privacy_desk_core::audit::AuditCheck,
            privacy_desk_core::domain::settings::FinancialRetention,
            privacy_desk_core::doctor::Report,
            crate::commands::requests::RetentionSettings,
            crate::commands::requests::RetentionPreset,
            privacy_desk_core::webhook::WebhookConfig,
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
