// Generated from the IPC contract (`contract!` in src-tauri/desktop/src/commands/mod.rs)
// by src-tauri/desktop/src/bindings.rs. Do not edit: `make bindings` rewrites it.

import type { AccessPackage } from "./AccessPackage";
import type { AccessReview } from "./AccessReview";
import type { ActivityDetail } from "./ActivityDetail";
import type { ActivityFields } from "./ActivityFields";
import type { ActivityPage } from "./ActivityPage";
import type { ActivityQuery } from "./ActivityQuery";
import type { AppInfo } from "./AppInfo";
import type { AuditCheck } from "./AuditCheck";
import type { AuditEntry } from "./AuditEntry";
import type { BackfillProgress } from "./BackfillProgress";
import type { BackfillReport } from "./BackfillReport";
import type { BackupReport } from "./BackupReport";
import type { BackupStatus } from "./BackupStatus";
import type { CatchUpStatus } from "./CatchUpStatus";
import type { Check } from "./Check";
import type { ChecklistItem } from "./ChecklistItem";
import type { Counts } from "./Counts";
import type { Dashboard } from "./Dashboard";
import type { Delivery } from "./Delivery";
import type { ErasureMethod } from "./ErasureMethod";
import type { ErasureResult } from "./ErasureResult";
import type { Exported } from "./Exported";
import type { Format } from "./Format";
import type { FoundBackup } from "./FoundBackup";
import type { Health } from "./Health";
import type { JobsReport } from "./JobsReport";
import type { KeySet } from "./KeySet";
import type { KeychainReport } from "./KeychainReport";
import type { Plan } from "./Plan";
import type { ProcessingActivity } from "./ProcessingActivity";
import type { Processor } from "./Processor";
import type { ProcessorDetails } from "./ProcessorDetails";
import type { Progress } from "./Progress";
import type { Receipt } from "./Receipt";
import type { RegimeInfo } from "./RegimeInfo";
import type { Registration } from "./Registration";
import type { Removed } from "./Removed";
import type { Request } from "./Request";
import type { RequestPage } from "./RequestPage";
import type { RestoreReport } from "./RestoreReport";
import type { RetentionSettings } from "./RetentionSettings";
import type { Ropa } from "./Ropa";
import type { RopaProcessor } from "./RopaProcessor";
import type { Schedule } from "./Schedule";
import type { ScheduleInput } from "./ScheduleInput";
import type { Settings } from "./Settings";
import type { Subject } from "./Subject";
import type { SubjectPage } from "./SubjectPage";
import type { TunnelInfo } from "./TunnelInfo";
import type { WebhookConfig } from "./WebhookConfig";

/** Sends one command: `invoke` of @tauri-apps/api/core, or a stand-in in tests. */
export type Invoke = <T>(command: string, args: Record<string, unknown>) => Promise<T>;

/** Every command's name on the wire and its argument keys, in parameter order. */
export const COMMANDS = {
  appInfo: { name: "app_info", args: [] },
  dashboard: { name: "dashboard", args: [] },
  deliveriesList: { name: "deliveries_list", args: ["limit"] },
  jobsReport: { name: "jobs_report", args: [] },
  processorsList: { name: "processors_list", args: [] },
  processorAddStripe: { name: "processor_add_stripe", args: ["name"] },
  processorAddWebhook: { name: "processor_add_webhook", args: ["name", "config", "signingSecret"] },
  processorSetSecret: { name: "processor_set_secret", args: ["id", "secret"] },
  processorShow: { name: "processor_show", args: ["id"] },
  processorRename: { name: "processor_rename", args: ["id", "name"] },
  processorRemove: { name: "processor_remove", args: ["id"] },
  processorsRemoved: { name: "processors_removed", args: [] },
  processorDeliveries: { name: "processor_deliveries", args: ["id", "limit"] },
  stripeEventTypes: { name: "stripe_event_types", args: [] },
  processorAddManual: { name: "processor_add_manual", args: ["name"] },
  activityQuery: { name: "activity_query", args: ["query"] },
  activityDetail: { name: "activity_detail", args: ["id"] },
  activityExportCsv: { name: "activity_export_csv", args: ["query", "path"] },
  chooseSavePath: { name: "choose_save_path", args: ["defaultName", "filterName", "extension"] },
  chooseFolder: { name: "choose_folder", args: ["title"] },
  chooseOpenPath: { name: "choose_open_path", args: ["filterName", "extension"] },
  subjectsSearch: { name: "subjects_search", args: ["text"] },
  subjectDetail: { name: "subject_detail", args: ["id"] },
  subjectRequests: { name: "subject_requests", args: ["id"] },
  settingsGet: { name: "settings_get", args: [] },
  settingsSave: { name: "settings_save", args: ["settings"] },
  autostartGet: { name: "autostart_get", args: [] },
  autostartSet: { name: "autostart_set", args: ["enabled"] },
  keychainCheck: { name: "keychain_check", args: [] },
  keychainRemoveOrphans: { name: "keychain_remove_orphans", args: [] },
  backupStatus: { name: "backup_status", args: [] },
  backupScheduleSave: { name: "backup_schedule_save", args: ["schedule"] },
  backupSetPassphrase: { name: "backup_set_passphrase", args: ["passphrase"] },
  backupNow: { name: "backup_now", args: [] },
  healthCheck: { name: "health_check", args: ["fresh"] },
  backupFound: { name: "backup_found", args: [] },
  backupRestore: { name: "backup_restore", args: ["path", "passphrase"] },
  appRestart: { name: "app_restart", args: [] },
  ropaReport: { name: "ropa_report", args: [] },
  ropaActivitySave: { name: "ropa_activity_save", args: ["id", "fields", "processorIds"] },
  ropaActivityDelete: { name: "ropa_activity_delete", args: ["id"] },
  ropaProcessorSave: { name: "ropa_processor_save", args: ["processorId", "details"] },
  ropaChecklistSet: { name: "ropa_checklist_set", args: ["key", "doneOn", "evidence"] },
  ropaExport: { name: "ropa_export", args: ["format", "path"] },
  ropaExportToDownloads: { name: "ropa_export_to_downloads", args: ["format"] },
  stripeSetKey: { name: "stripe_set_key", args: ["id", "key"] },
  stripeCheck: { name: "stripe_check", args: ["id"] },
  stripeErasureMethod: { name: "stripe_erasure_method", args: ["id"] },
  stripeSetErasureMethod: { name: "stripe_set_erasure_method", args: ["id", "method"] },
  stripeCatchUp: { name: "stripe_catch_up", args: ["id"] },
  stripeLastCatchUp: { name: "stripe_last_catch_up", args: ["id"] },
  stripeRegisterWebhook: { name: "stripe_register_webhook", args: ["id", "baseUrl"] },
  stripeBackfill: { name: "stripe_backfill", args: ["id", "resources"] },
  stripeBackfillCancel: { name: "stripe_backfill_cancel", args: [] },
  tunnelSetToken: { name: "tunnel_set_token", args: ["token"] },
  tunnelStart: { name: "tunnel_start", args: [] },
  tunnelStop: { name: "tunnel_stop", args: [] },
  requestsList: { name: "requests_list", args: [] },
  requestRegimes: { name: "request_regimes", args: [] },
  requestCreate: { name: "request_create", args: ["kind", "email", "regime", "received"] },
  requestPage: { name: "request_page", args: ["id"] },
  requestExtend: { name: "request_extend", args: ["id", "reason"] },
  requestVerifyIdentity: { name: "request_verify_identity", args: ["id", "method"] },
  requestNote: { name: "request_note", args: ["id", "text"] },
  requestReject: { name: "request_reject", args: ["id", "reason"] },
  requestComplete: { name: "request_complete", args: ["id", "reason"] },
  erasurePlan: { name: "erasure_plan", args: ["id"] },
  erasureResolveBlocker: { name: "erasure_resolve_blocker", args: ["id", "target", "note"] },
  erasureExecute: { name: "erasure_execute", args: ["id"] },
  erasureReceipt: { name: "erasure_receipt", args: ["id", "path"] },
  accessPackage: { name: "access_package", args: ["id", "dir", "unverifiedReason"] },
  accessReview: { name: "access_review", args: ["id"] },
  accessWithhold: { name: "access_withhold", args: ["id", "recordId", "field", "ground", "text"] },
  accessUnwithhold: { name: "access_unwithhold", args: ["id", "recordId", "field"] },
  accessRelease: { name: "access_release", args: ["id", "dir"] },
  auditList: { name: "audit_list", args: ["requestId"] },
  auditVerify: { name: "audit_verify", args: [] },
  financialRetentionGet: { name: "financial_retention_get", args: [] },
  financialRetentionSet: { name: "financial_retention_set", args: ["years", "preset"] },
} as const;

export type CommandKey = keyof typeof COMMANDS;

/** One typed function per command, sending through `invoke`. */
export function commands(invoke: Invoke) {
  return {
    /** The app's name, version and data folder. */
    appInfo: (): Promise<AppInfo> => invoke("app_info", {}),
    dashboard: (): Promise<Dashboard> => invoke("dashboard", {}),
    deliveriesList: (limit: number): Promise<Array<Delivery>> => invoke("deliveries_list", { limit }),
    /** The background jobs: last and next runs, errors, events waiting for an API key. */
    jobsReport: (): Promise<JobsReport> => invoke("jobs_report", {}),
    processorsList: (): Promise<Array<Processor>> => invoke("processors_list", {}),
    processorAddStripe: (name: string | null): Promise<Processor> => invoke("processor_add_stripe", { name }),
    /** A generic webhook processor (HMAC-SHA256 signed); the signing secret can come later. */
    processorAddWebhook: (name: string, config: WebhookConfig, signingSecret: string | null): Promise<Processor> => invoke("processor_add_webhook", { name, config, signingSecret }),
    processorSetSecret: (id: number, secret: string): Promise<null> => invoke("processor_set_secret", { id, secret }),
    processorShow: (id: number): Promise<Processor> => invoke("processor_show", { id }),
    /** Renames the processor (recorded in the audit trail). */
    processorRename: (id: number, name: string): Promise<Processor> => invoke("processor_rename", { id, name }),
    /**
     * Removes the processor: its events stay in the log, its URL is refused from now on,
     * its keychain entries (and its webhook endpoint at Stripe, with a key) are deleted.
     */
    processorRemove: (id: number): Promise<Removed> => invoke("processor_remove", { id }),
    /** The removed processors, newest removal first. */
    processorsRemoved: (): Promise<Array<Processor>> => invoke("processors_removed", {}),
    /** One processor's deliveries, newest first. */
    processorDeliveries: (id: number, limit: number): Promise<Array<Delivery>> => invoke("processor_deliveries", { id, limit }),
    stripeEventTypes: (): Promise<Array<string>> => invoke("stripe_event_types", {}),
    /** A processor with no integration, recorded for the RoPA only. */
    processorAddManual: (name: string): Promise<Processor> => invoke("processor_add_manual", { name }),
    activityQuery: (query: ActivityQuery): Promise<ActivityPage> => invoke("activity_query", { query }),
    activityDetail: (id: number): Promise<ActivityDetail> => invoke("activity_detail", { id }),
    /**
     * Writes the rows matching `query` (cursor and limit ignored) to `path`: the save
     * dialog's answer, or a file in Downloads. Returns how many.
     */
    activityExportCsv: (query: ActivityQuery, path: string): Promise<number> => invoke("activity_export_csv", { query, path }),
    /** Asks the user where to save a file; `null` when they cancel. */
    chooseSavePath: (defaultName: string, filterName: string, extension: string): Promise<string | null> => invoke("choose_save_path", { defaultName, filterName, extension }),
    /** Asks the user for a folder; `null` when they cancel. */
    chooseFolder: (title: string): Promise<string | null> => invoke("choose_folder", { title }),
    /** Opens the open dialog; the answer may then be read once (a backup to restore). */
    chooseOpenPath: (filterName: string, extension: string): Promise<string | null> => invoke("choose_open_path", { filterName, extension }),
    subjectsSearch: (text: string): Promise<Array<Subject>> => invoke("subjects_search", { text }),
    /** The subject with its ids, email history and timeline (newest first). */
    subjectDetail: (id: number): Promise<SubjectPage> => invoke("subject_detail", { id }),
    /** The subject's requests (under any of its emails), newest first. */
    subjectRequests: (id: number): Promise<Array<Request>> => invoke("subject_requests", { id }),
    settingsGet: (): Promise<Settings> => invoke("settings_get", {}),
    settingsSave: (settings: Settings): Promise<Settings> => invoke("settings_save", { settings }),
    /** Whether the OS starts Privacy Desk at login. */
    autostartGet: (): Promise<boolean> => invoke("autostart_get", {}),
    /**
     * Turns start at login on or off (at login: in the tray, receiving, no window);
     * returns the setting as it is now.
     */
    autostartSet: (enabled: boolean): Promise<boolean> => invoke("autostart_set", { enabled }),
    /** This install's keychain entries, and the orphaned ones (names only, never secrets). */
    keychainCheck: (): Promise<KeychainReport> => invoke("keychain_check", {}),
    /**
     * Removes the orphaned entries (never another live install's); recorded in the audit
     * trail.
     */
    keychainRemoveOrphans: (): Promise<KeychainReport> => invoke("keychain_remove_orphans", {}),
    /** The last backup attempt, the last good one, and the schedule. */
    backupStatus: (): Promise<BackupStatus> => invoke("backup_status", {}),
    /** Saves the daily schedule; a new folder must be the folder dialog's answer. */
    backupScheduleSave: (schedule: ScheduleInput): Promise<Schedule> => invoke("backup_schedule_save", { schedule }),
    /**
     * Keeps the passphrase backups are encrypted with in the keychain (12 characters at
     * least).
     */
    backupSetPassphrase: (passphrase: string): Promise<Schedule> => invoke("backup_set_passphrase", { passphrase }),
    /** Backs up now into the schedule's folder (Downloads unless one was chosen). */
    backupNow: (): Promise<BackupReport> => invoke("backup_now", {}),
    /**
     * "Is everything all right?": the checks of `privacy-desk doctor`; the integrity and
     * audit-chain checks of the last run if less than 10 minutes old, unless `fresh`.
     */
    healthCheck: (fresh: boolean): Promise<Health> => invoke("health_check", { fresh }),
    /** The backup files in the backup folder and Downloads, newest first. */
    backupFound: (): Promise<Array<FoundBackup>> => invoke("backup_found", {}),
    /**
     * Restores a backup (one `backup_found` listed, or the open dialog's answer) over this
     * new install (refused once it holds records); it is moved in at the restart.
     */
    backupRestore: (path: string, passphrase: string): Promise<RestoreReport> => invoke("backup_restore", { path, passphrase }),
    /** Restarts the app. */
    appRestart: (): Promise<null> => invoke("app_restart", {}),
    /** The Records of Processing Activities with checklist and observed-vs-declared gaps. */
    ropaReport: (): Promise<Ropa> => invoke("ropa_report", {}),
    /** Creates (`id` null) or replaces a processing activity. */
    ropaActivitySave: (id: number | null, fields: ActivityFields, processorIds: Array<number>): Promise<ProcessingActivity> => invoke("ropa_activity_save", { id, fields, processorIds }),
    ropaActivityDelete: (id: number): Promise<null> => invoke("ropa_activity_delete", { id }),
    ropaProcessorSave: (processorId: number, details: ProcessorDetails): Promise<RopaProcessor> => invoke("ropa_processor_save", { processorId, details }),
    ropaChecklistSet: (key: string, doneOn: string | null, evidence: string): Promise<Array<ChecklistItem>> => invoke("ropa_checklist_set", { key, doneOn, evidence }),
    /** Writes the RoPA to `path`; returns how many activities it holds. */
    ropaExport: (format: Format, path: string): Promise<number> => invoke("ropa_export", { format, path }),
    /** Writes the RoPA into Downloads (a new file, never over an earlier one). */
    ropaExportToDownloads: (format: Format): Promise<Exported> => invoke("ropa_export_to_downloads", { format }),
    /** Checks the key against Stripe and stores it in the keychain. */
    stripeSetKey: (id: number, key: string): Promise<KeySet> => invoke("stripe_set_key", { id, key }),
    /** Probes each permission the workflows need with the stored key. */
    stripeCheck: (id: number): Promise<Check> => invoke("stripe_check", { id }),
    /** How an erasure removes the customer at Stripe. */
    stripeErasureMethod: (id: number): Promise<ErasureMethod> => invoke("stripe_erasure_method", { id }),
    /**
     * `delete` or `redaction_job`; refused (`blocked`) when the account has no redaction
     * jobs.
     */
    stripeSetErasureMethod: (id: number, method: string): Promise<ErasureMethod> => invoke("stripe_set_erasure_method", { id, method }),
    stripeCatchUp: (id: number): Promise<Counts> => invoke("stripe_catch_up", { id }),
    stripeLastCatchUp: (id: number): Promise<CatchUpStatus> => invoke("stripe_last_catch_up", { id }),
    /**
     * Creates (or updates) the endpoint at Stripe for `baseUrl` + the webhook path;
     * `null`: the running tunnel's URL.
     */
    stripeRegisterWebhook: (id: number, baseUrl: string | null): Promise<Registration> => invoke("stripe_register_webhook", { id, baseUrl }),
    /** Imports history, emitting `backfill-progress`. */
    stripeBackfill: (id: number, resources: Array<string>): Promise<BackfillReport> => invoke("stripe_backfill", { id, resources }),
    /** Stops the running backfill after its current page (it resumes from there next time). */
    stripeBackfillCancel: (): Promise<null> => invoke("stripe_backfill_cancel", {}),
    tunnelSetToken: (token: string): Promise<null> => invoke("tunnel_set_token", { token }),
    tunnelStart: (): Promise<TunnelInfo> => invoke("tunnel_start", {}),
    tunnelStop: (): Promise<TunnelInfo> => invoke("tunnel_stop", {}),
    /** The inbox: open requests by days left, then closed ones. */
    requestsList: (): Promise<Array<Request>> => invoke("requests_list", {}),
    /** The regimes a request may be under, with their deadlines in words. */
    requestRegimes: (): Promise<Array<RegimeInfo>> => invoke("request_regimes", {}),
    /** `received` is `YYYY-MM-DD` (null: today). */
    requestCreate: (kind: string, email: string, regime: string, received: string | null): Promise<Request> => invoke("request_create", { kind, email, regime, received }),
    /** The request with its steps (its audit entries). */
    requestPage: (id: number): Promise<RequestPage> => invoke("request_page", { id }),
    requestExtend: (id: number, reason: string): Promise<Request> => invoke("request_extend", { id, reason }),
    requestVerifyIdentity: (id: number, method: string): Promise<Request> => invoke("request_verify_identity", { id, method }),
    requestNote: (id: number, text: string): Promise<Request> => invoke("request_note", { id, text }),
    requestReject: (id: number, reason: string): Promise<Request> => invoke("request_reject", { id, reason }),
    /**
     * Marks the request answered; before its next step is done (`closing_needs_reason`)
     * it needs the reason (else `reason_required`).
     */
    requestComplete: (id: number, reason: string | null): Promise<Request> => invoke("request_complete", { id, reason }),
    erasurePlan: (id: number): Promise<Plan> => invoke("erasure_plan", { id }),
    /**
     * Records that a blocked plan item was resolved at Stripe by the officer, with what
     * they did; returns the plan as it is now.
     */
    erasureResolveBlocker: (id: number, target: string, note: string): Promise<Plan> => invoke("erasure_resolve_blocker", { id, target, note }),
    /** Executes (or resumes) the erasure; refused while the plan has a blocked item. */
    erasureExecute: (id: number): Promise<ErasureResult> => invoke("erasure_execute", { id }),
    /** Writes the receipt for the data subject to `path` (HTML, or JSON for `.json`). */
    erasureReceipt: (id: number, path: string): Promise<Receipt> => invoke("erasure_receipt", { id, path }),
    /**
     * Builds the access package (.zip) into the folder `dir` (null: the user's Downloads
     * folder), emitting `access-progress`. For an unverified identity
     * (`identity_override_needed`) it needs `unverified_reason` (else `reason_required`).
     */
    accessPackage: (id: number, dir: string | null, unverifiedReason: string | null): Promise<AccessPackage> => invoke("access_package", { id, dir, unverifiedReason }),
    /**
     * The package built, for review before it is released: every file, every record by
     * category (with its id) and what is withheld.
     */
    accessReview: (id: number): Promise<AccessReview> => invoke("access_review", { id }),
    /**
     * Withholds a record of the package (or its `field`) on `ground` (`other_person`,
     * `legal_privilege`, or `other` with `text`); refused once released.
     */
    accessWithhold: (id: number, recordId: string, field: string | null, ground: string, text: string | null): Promise<AccessReview> => invoke("access_withhold", { id, recordId, field, ground, text }),
    accessUnwithhold: (id: number, recordId: string, field: string | null): Promise<AccessReview> => invoke("access_unwithhold", { id, recordId, field }),
    /**
     * Releases the package: rebuilt without what is withheld, into the folder `dir` (the
     * folder dialog's answer; null: where it was built, replacing it).
     */
    accessRelease: (id: number, dir: string | null): Promise<AccessPackage> => invoke("access_release", { id, dir }),
    auditList: (requestId: number | null): Promise<Array<AuditEntry>> => invoke("audit_list", { requestId }),
    auditVerify: (): Promise<AuditCheck> => invoke("audit_verify", {}),
    financialRetentionGet: (): Promise<RetentionSettings> => invoke("financial_retention_get", {}),
    /** Exactly one of `years` and `preset`. */
    financialRetentionSet: (years: number | null, preset: string | null): Promise<RetentionSettings> => invoke("financial_retention_set", { years, preset }),
  };
}

export type Commands = ReturnType<typeof commands>;

/** The events the app emits, by name. */
export const EVENTS = {
  /** Newly stored events were linked: the number of them. */
  activityChanged: "activity-changed",
  /** A backfill's progress, page by page. */
  backfillProgress: "backfill-progress",
  /** An access package's progress, step by step. */
  accessProgress: "access-progress",
} as const;

/** Each event's payload. */
export type EventPayloads = {
  "activity-changed": number;
  "backfill-progress": BackfillProgress;
  "access-progress": Progress;
};

/** The `code` of every error a command rejects with (`Error::code()` in Rust). */
export const ERROR_CODES = ["invalid_input", "not_found", "keychain", "database", "schema_too_new", "io", "unavailable", "blocked", "integrity", "reason_required"] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
