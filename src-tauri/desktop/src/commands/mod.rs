//! The IPC contract and the commands behind it. [`contract!`] below lists every command the
//! window may call — its name, argument names and types, and result — and every event the app
//! emits, once. It expands to the `#[tauri::command]` functions and their `generate_handler!`
//! list ([`handler`]), and (in tests) to the data from which `bindings.rs` writes
//! `ui/src/lib/bindings/ipc.ts`: one typed function per command, the events, the error codes.
//!
//! Each command's implementation is a plain async function in the screen's file, a few lines
//! calling the same domain functions as the CLI, taking the `AppHandle` and the arguments in
//! the order listed. Errors reach the frontend as `{code, message}`.

pub mod activity;
pub mod backup;
pub mod dashboard;
pub mod files;
pub mod processors;
pub mod requests;
pub mod ropa;
pub mod settings;
pub mod stripe;
pub mod subjects;

use std::marker::PhantomData;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};
use ts_rs::TS;

use crate::state::AppState;
use privacy_desk_core::audit::{AuditCheck, AuditEntry};
use privacy_desk_core::backup::schedule::{FoundBackup, Schedule as BackupSchedule, ScheduleInput};
use privacy_desk_core::backup::{BackupReport, BackupStatus, RestoreReport};
use privacy_desk_core::doctor::Report as KeychainReport;
use privacy_desk_core::domain::activity::{ActivityDetail, ActivityPage, ActivityQuery};
use privacy_desk_core::domain::deliveries::Delivery;
use privacy_desk_core::domain::processors::Processor;
use privacy_desk_core::domain::settings::Settings;
use privacy_desk_core::domain::subjects::{Subject, SubjectPage};
use privacy_desk_core::error::Result;
use privacy_desk_core::health::Health;
use privacy_desk_core::jobs::JobsReport;
use privacy_desk_core::requests::access::review::Review as AccessReview;
use privacy_desk_core::requests::access::{AccessPackage, Progress as AccessProgress};
use privacy_desk_core::requests::erasure::{ErasureResult, Plan, Receipt};
use privacy_desk_core::requests::{Request, RequestPage};
use privacy_desk_core::ropa::{
    ActivityFields, ChecklistItem, Format, ProcessingActivity, ProcessorDetails, Ropa,
    RopaProcessor,
};
use privacy_desk_core::stripe_sync::{
    BackfillProgress, BackfillReport, CatchUpStatus, Check, Counts, ErasureMethod, KeySet,
    Registration, Removed,
};
use privacy_desk_core::tunnel::Status as TunnelInfo;
use privacy_desk_core::webhook::WebhookConfig;

use dashboard::Dashboard;
use requests::{RegimeInfo, RetentionSettings};
use ropa::Exported;

/// Declares the IPC contract; see the module's documentation. The argument names are the
/// Rust names of the commands' parameters; Tauri (and so `ipc.ts`) sends them in camelCase.
macro_rules! contract {
    (
        commands {
            $(
                $(#[doc = $doc:literal])*
                fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty => $($path:ident)::+;
            )*
        }
        events {
            $(
                $(#[doc = $edoc:literal])*
                $event:ident = $event_name:literal: $payload:ty;
            )*
        }
    ) => {
        $(
            $(#[doc = $edoc])*
            pub const $event: Event<$payload> = Event::new($event_name);
        )*

        /// The `#[tauri::command]` functions: each hands its arguments to its implementation.
        mod wrappers {
            use super::*;

            $(
                $(#[doc = $doc])*
                #[tauri::command]
                async fn $name(app: AppHandle, $($arg: $ty),*) -> Result<$ret> {
                    super::$($path)::+(app, $($arg),*).await
                }
            )*

            pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
                tauri::generate_handler![$($name),*]
            }
        }

        /// The invoke handler of every command in the contract.
        pub use wrappers::handler;

        /// The contract as data, for `bindings.rs`.
        #[cfg(test)]
        pub(crate) fn contract(cfg: &ts_rs::Config) -> crate::bindings::Contract {
            use crate::bindings::{Command, Contract, Event, Type};
            Contract {
                commands: vec![$(Command {
                    name: stringify!($name),
                    docs: vec![$($doc),*],
                    args: vec![$((stringify!($arg), Type::of::<$ty>(cfg))),*],
                    result: Type::of::<$ret>(cfg),
                }),*],
                events: vec![$(Event {
                    name: $event_name,
                    docs: vec![$($edoc),*],
                    payload: Type::of::<$payload>(cfg),
                }),*],
            }
        }
    };
}

contract! {
    commands {
        /// The app's name, version and data folder.
        fn app_info() -> AppInfo => app_info;
        fn dashboard() -> Dashboard => dashboard::dashboard;
        fn deliveries_list(limit: u32) -> Vec<Delivery> => dashboard::deliveries_list;
        /// The background jobs: last and next runs, errors, events waiting for an API key.
        fn jobs_report() -> JobsReport => dashboard::jobs_report;
        fn processors_list() -> Vec<Processor> => processors::list;
        fn processor_add_stripe(name: Option<String>) -> Processor => processors::add_stripe;
        /// A generic webhook processor (HMAC-SHA256 signed); the signing secret can come later.
        fn processor_add_webhook(
            name: String,
            config: WebhookConfig,
            signing_secret: Option<String>,
        ) -> Processor => processors::add_webhook;
        fn processor_set_secret(id: i64, secret: String) -> () => processors::set_secret;
        fn processor_show(id: i64) -> Processor => processors::show;
        /// Renames the processor (recorded in the audit trail).
        fn processor_rename(id: i64, name: String) -> Processor => processors::rename;
        /// Removes the processor: its events stay in the log, its URL is refused from now on,
        /// its keychain entries (and its webhook endpoint at Stripe, with a key) are deleted.
        fn processor_remove(id: i64) -> Removed => processors::remove;
        /// The removed processors, newest removal first.
        fn processors_removed() -> Vec<Processor> => processors::list_removed;
        /// One processor's deliveries, newest first.
        fn processor_deliveries(id: i64, limit: u32) -> Vec<Delivery> => processors::deliveries;
        fn stripe_event_types() -> Vec<String> => processors::stripe_event_types;
        /// A processor with no integration, recorded for the RoPA only.
        fn processor_add_manual(name: String) -> Processor => processors::add_manual;
        fn activity_query(query: ActivityQuery) -> ActivityPage => activity::query;
        fn activity_detail(id: i64) -> ActivityDetail => activity::detail;
        /// Writes the rows matching `query` (cursor and limit ignored) to `path`: the save
        /// dialog's answer, or a file in Downloads. Returns how many.
        fn activity_export_csv(query: ActivityQuery, path: String) -> usize
            => activity::export_csv;
        /// Asks the user where to save a file; `null` when they cancel.
        fn choose_save_path(default_name: String, filter_name: String, extension: String)
            -> Option<String> => files::choose_save_path;
        /// Asks the user for a folder; `null` when they cancel.
        fn choose_folder(title: String) -> Option<String> => files::choose_folder;
        /// Opens the open dialog; the answer may then be read once (a backup to restore).
        fn choose_open_path(filter_name: String, extension: String) -> Option<String>
            => files::choose_open_path;
        fn subjects_search(text: String) -> Vec<Subject> => subjects::search;
        /// The subject with its ids, email history and timeline (newest first).
        fn subject_detail(id: i64) -> SubjectPage => subjects::detail;
        /// The subject's requests (under any of its emails), newest first.
        fn subject_requests(id: i64) -> Vec<Request> => subjects::requests;
        fn settings_get() -> Settings => settings::get;
        fn settings_save(settings: Settings) -> Settings => settings::save;
        /// Whether the OS starts Privacy Desk at login.
        fn autostart_get() -> bool => settings::autostart_get;
        /// Turns start at login on or off (at login: in the tray, receiving, no window);
        /// returns the setting as it is now.
        fn autostart_set(enabled: bool) -> bool => settings::autostart_set;
        /// This install's keychain entries, and the orphaned ones (names only, never secrets).
        fn keychain_check() -> KeychainReport => settings::keychain_check;
        /// Removes the orphaned entries (never another live install's); recorded in the audit
        /// trail.
        fn keychain_remove_orphans() -> KeychainReport => settings::keychain_remove_orphans;
        /// The last backup attempt, the last good one, and the schedule.
        fn backup_status() -> BackupStatus => backup::status;
        /// Saves the daily schedule; a new folder must be the folder dialog's answer.
        fn backup_schedule_save(schedule: ScheduleInput) -> BackupSchedule
            => backup::schedule_save;
        /// Keeps the passphrase backups are encrypted with in the keychain (12 characters at
        /// least).
        fn backup_set_passphrase(passphrase: String) -> BackupSchedule => backup::set_passphrase;
        /// Backs up now into the schedule's folder (Downloads unless one was chosen).
        fn backup_now() -> BackupReport => backup::now;
        /// "Is everything all right?": the checks of `privacy-desk doctor`; the integrity and
        /// audit-chain checks of the last run if less than 10 minutes old, unless `fresh`.
        fn health_check(fresh: bool) -> Health => backup::health;
        /// The backup files in the backup folder and Downloads, newest first.
        fn backup_found() -> Vec<FoundBackup> => backup::found;
        /// Restores a backup (one `backup_found` listed, or the open dialog's answer) over this
        /// new install (refused once it holds records); it is moved in at the restart.
        fn backup_restore(path: String, passphrase: String) -> RestoreReport => backup::restore;
        /// Restarts the app.
        fn app_restart() -> () => backup::restart;
        /// The Records of Processing Activities with checklist and observed-vs-declared gaps.
        fn ropa_report() -> Ropa => ropa::report;
        /// Creates (`id` null) or replaces a processing activity.
        fn ropa_activity_save(id: Option<i64>, fields: ActivityFields, processor_ids: Vec<i64>)
            -> ProcessingActivity => ropa::activity_save;
        fn ropa_activity_delete(id: i64) -> () => ropa::activity_delete;
        fn ropa_processor_save(processor_id: i64, details: ProcessorDetails) -> RopaProcessor
            => ropa::processor_save;
        fn ropa_checklist_set(key: String, done_on: Option<String>, evidence: String)
            -> Vec<ChecklistItem> => ropa::checklist_set;
        /// Writes the RoPA to `path`; returns how many activities it holds.
        fn ropa_export(format: Format, path: String) -> usize => ropa::export;
        /// Writes the RoPA into Downloads (a new file, never over an earlier one).
        fn ropa_export_to_downloads(format: Format) -> Exported => ropa::export_to_downloads;
        /// Checks the key against Stripe and stores it in the keychain.
        fn stripe_set_key(id: i64, key: String) -> KeySet => stripe::set_key;
        /// Probes each permission the workflows need with the stored key.
        fn stripe_check(id: i64) -> Check => stripe::check;
        /// How an erasure removes the customer at Stripe.
        fn stripe_erasure_method(id: i64) -> ErasureMethod => stripe::erasure_method;
        /// `delete` or `redaction_job`; refused (`blocked`) when the account has no redaction
        /// jobs.
        fn stripe_set_erasure_method(id: i64, method: String) -> ErasureMethod
            => stripe::set_erasure_method;
        fn stripe_catch_up(id: i64) -> Counts => stripe::catch_up;
        fn stripe_last_catch_up(id: i64) -> CatchUpStatus => stripe::last_catch_up;
        /// Creates (or updates) the endpoint at Stripe for `baseUrl` + the webhook path;
        /// `null`: the running tunnel's URL.
        fn stripe_register_webhook(id: i64, base_url: Option<String>) -> Registration
            => stripe::register_webhook;
        /// Imports history, emitting `backfill-progress`.
        fn stripe_backfill(id: i64, resources: Vec<String>) -> BackfillReport
            => stripe::backfill;
        /// Stops the running backfill after its current page (it resumes from there next time).
        fn stripe_backfill_cancel() -> () => stripe::backfill_cancel;
        fn tunnel_set_token(token: String) -> () => stripe::tunnel_set_token;
        fn tunnel_start() -> TunnelInfo => stripe::tunnel_start;
        fn tunnel_stop() -> TunnelInfo => stripe::tunnel_stop;
        /// The inbox: open requests by days left, then closed ones.
        fn requests_list() -> Vec<Request> => requests::list;
        /// The regimes a request may be under, with their deadlines in words.
        fn request_regimes() -> Vec<RegimeInfo> => requests::regimes;
        /// `received` is `YYYY-MM-DD` (null: today).
        fn request_create(kind: String, email: String, regime: String, received: Option<String>)
            -> Request => requests::create;
        /// The request with its steps (its audit entries).
        fn request_page(id: i64) -> RequestPage => requests::page;
        fn request_extend(id: i64, reason: String) -> Request => requests::extend;
        fn request_verify_identity(id: i64, method: String) -> Request
            => requests::verify_identity;
        fn request_note(id: i64, text: String) -> Request => requests::note;
        fn request_reject(id: i64, reason: String) -> Request => requests::reject;
        /// Marks the request answered; before its next step is done (`closing_needs_reason`)
        /// it needs the reason (else `reason_required`).
        fn request_complete(id: i64, reason: Option<String>) -> Request => requests::complete;
        fn erasure_plan(id: i64) -> Plan => requests::erasure_plan;
        /// Records that a blocked plan item was resolved at Stripe by the officer, with what
        /// they did; returns the plan as it is now.
        fn erasure_resolve_blocker(id: i64, target: String, note: String) -> Plan
            => requests::erasure_resolve_blocker;
        /// Executes (or resumes) the erasure; refused while the plan has a blocked item.
        fn erasure_execute(id: i64) -> ErasureResult => requests::erasure_execute;
        /// Writes the receipt for the data subject to `path` (HTML, or JSON for `.json`).
        fn erasure_receipt(id: i64, path: String) -> Receipt => requests::erasure_receipt;
        /// Builds the access package (.zip) into the folder `dir` (null: the user's Downloads
        /// folder), emitting `access-progress`. For an unverified identity
        /// (`identity_override_needed`) it needs `unverified_reason` (else `reason_required`).
        fn access_package(id: i64, dir: Option<String>, unverified_reason: Option<String>)
            -> AccessPackage => requests::access_package;
        /// The package built, for review before it is released: every file, every record by
        /// category (with its id) and what is withheld.
        fn access_review(id: i64) -> AccessReview => requests::access_review;
        /// Withholds a record of the package (or its `field`) on `ground` (`other_person`,
        /// `legal_privilege`, or `other` with `text`); refused once released.
        fn access_withhold(id: i64, record_id: String, field: Option<String>, ground: String,
            text: Option<String>) -> AccessReview => requests::access_withhold;
        fn access_unwithhold(id: i64, record_id: String, field: Option<String>)
            -> AccessReview => requests::access_unwithhold;
        /// Releases the package: rebuilt without what is withheld, into the folder `dir` (the
        /// folder dialog's answer; null: where it was built, replacing it).
        fn access_release(id: i64, dir: Option<String>) -> AccessPackage
            => requests::access_release;
        fn audit_list(request_id: Option<i64>) -> Vec<AuditEntry> => requests::audit_list;
        fn audit_verify() -> AuditCheck => requests::audit_verify;
        fn financial_retention_get() -> RetentionSettings => requests::financial_retention_get;
        /// Exactly one of `years` and `preset`.
        fn financial_retention_set(years: Option<u32>, preset: Option<String>)
            -> RetentionSettings => requests::financial_retention_set;
    }
    events {
        /// Newly stored events were linked: the number of them.
        ACTIVITY_CHANGED = "activity-changed": usize;
        /// A backfill's progress, page by page.
        BACKFILL_PROGRESS = "backfill-progress": BackfillProgress;
        /// An access package's progress, step by step.
        ACCESS_PROGRESS = "access-progress": AccessProgress;
    }
}

/// An event of the contract: its name and (in the type) its payload, so that each emitter
/// sends what `ipc.ts` declares.
pub struct Event<P> {
    pub name: &'static str,
    payload: PhantomData<fn(&P)>,
}

impl<P: Serialize> Event<P> {
    const fn new(name: &'static str) -> Self {
        Event {
            name,
            payload: PhantomData,
        }
    }

    /// Sends the event to the window (a window gone or not yet open misses it).
    pub fn emit(&self, app: &AppHandle, payload: &P) {
        if let Err(e) = app.emit(self.name, payload) {
            tracing::debug!(event = self.name, error = %e, "an event was not delivered");
        }
    }
}

/// Runs `f` on a blocking thread: for commands that wait on the network (Stripe) or build
/// files, so that they never hold up the window's async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    app: AppHandle,
    f: impl FnOnce(&AppState) -> Result<T> + Send + 'static,
) -> Result<T> {
    tauri::async_runtime::spawn_blocking(move || f(&app.state::<AppState>()))
        .await
        .map_err(|e| {
            privacy_desk_core::error::Error::Unavailable(format!("the task stopped: {e}"))
        })?
}

#[derive(Debug, Serialize, TS)]
pub struct AppInfo {
    pub name: &'static str,
    pub version: &'static str,
    pub data_dir: String,
}

pub async fn app_info(app: AppHandle) -> Result<AppInfo> {
    Ok(AppInfo {
        name: "Privacy Desk",
        version: env!("CARGO_PKG_VERSION"),
        data_dir: app.state::<AppState>().ctx.data_dir.display().to_string(),
    })
}
