// The one door to the Rust side. Screens talk to a `Backend`; the app uses `tauriBackend`,
// tests use `createMockBackend()` (mockBackend.ts). Nothing else imports @tauri-apps/*.

import { invoke } from '@tauri-apps/api/core'
import { listen } from '@tauri-apps/api/event'
import type {
  ActivityFields,
  ChecklistItem,
  Format,
  ProcessingActivity,
  Ropa,
} from './types'
import type {
  ActivityDetail,
  ActivityPage,
  ActivityQuery,
  AppInfo,
  BackfillProgress,
  BackfillReport,
  CatchUpStatus,
  Check,
  Counts,
  Dashboard,
  Delivery,
  ErasureMethod,
  KeySet,
  Processor,
  Registration,
  Settings,
  Subject,
  SubjectDetail,
  TunnelInfo,
  WebhookConfig,
} from './types'
import type {
  AccessPackage,
  AccessProgress,
  AuditCheck,
  AuditEntry,
  ErasureResult,
  Plan,
  Receipt,
  Request,
  RequestPage,
  KeychainReport,
  RetentionSettings,
} from './types'

/** What every failed call rejects with. Branch on `code`; show `message`. */
export interface BackendError {
  code: string
  message: string
}

/** Codes the Rust side sends (src-tauri/src/error.rs), plus `unknown` for anything else. */
export type ErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'keychain'
  | 'database'
  | 'schema_too_new'
  | 'io'
  | 'unavailable'
  | 'blocked'
  | 'integrity'
  | 'unknown'

export const ACTIVITY_CHANGED = 'activity-changed'
/** Emitted by `stripe_backfill` while it runs, with a `BackfillProgress`. */
export const BACKFILL_PROGRESS = 'backfill-progress'
/** Emitted by `access_package` while it builds, with an `AccessProgress`. */
export const ACCESS_PROGRESS = 'access-progress'

export interface Backend {
  appInfo(): Promise<AppInfo>
  dashboard(): Promise<Dashboard>
  processorsList(): Promise<Processor[]>
  processorAddStripe(name: string | null): Promise<Processor>
  /** A processor with no integration, recorded for the RoPA only. */
  processorAddManual(name: string): Promise<Processor>
  /** A generic webhook processor (HMAC-SHA256 signed); the signing secret can come later. */
  processorAddWebhook(name: string, config: WebhookConfig, signingSecret: string | null): Promise<Processor>
  processorSetSecret(id: number, secret: string): Promise<void>
  processorShow(id: number): Promise<Processor>
  stripeEventTypes(): Promise<string[]>
  activityQuery(query: ActivityQuery): Promise<ActivityPage>
  activityDetail(id: number): Promise<ActivityDetail>
  /** Writes the rows matching `query` (cursor and limit ignored) to `path`; returns the count. */
  activityExportCsv(query: ActivityQuery, path: string): Promise<number>
  subjectsSearch(text: string): Promise<Subject[]>
  subjectDetail(id: number): Promise<SubjectDetail>
  deliveriesList(limit: number): Promise<Delivery[]>
  settingsGet(): Promise<Settings>
  settingsSave(settings: Settings): Promise<Settings>
  /** The Records of Processing Activities with checklist and observed-vs-declared gaps. */
  ropaReport(): Promise<Ropa>
  /** Creates (`id` null) or replaces a processing activity. */
  ropaActivitySave(id: number | null, fields: ActivityFields, processorIds: number[]): Promise<ProcessingActivity>
  ropaActivityDelete(id: number): Promise<void>
  ropaChecklistSet(key: string, doneOn: string | null, evidence: string): Promise<ChecklistItem[]>
  /** Writes the RoPA to `path`; returns how many activities it holds. */
  ropaExport(format: Format, path: string): Promise<number>
  /** Asks the user where to save a file; `null` when they cancel. */
  chooseSavePath(defaultName: string, filterName: string, extension: string): Promise<string | null>
  /** Calls `handler` with the number of newly stored events. Resolves to an unsubscribe function. */
  onActivityChanged(handler: (count: number) => void): Promise<() => void>

  // Stripe API and tunnel
  /** Checks the key against Stripe and stores it in the keychain. */
  stripeSetKey(id: number, key: string): Promise<KeySet>
  /** Probes each permission the workflows need with the stored key. */
  stripeCheck(id: number): Promise<Check>
  /** How an erasure removes the customer at Stripe. */
  stripeErasureMethod(id: number): Promise<ErasureMethod>
  /** Refused (code `blocked`) when the account has no redaction jobs. */
  stripeSetErasureMethod(id: number, method: ErasureMethod): Promise<ErasureMethod>
  stripeCatchUp(id: number): Promise<Counts>
  stripeLastCatchUp(id: number): Promise<CatchUpStatus>
  /** Creates (or updates) the endpoint at Stripe for `baseUrl` + the webhook path; `null` = the running tunnel's URL. */
  stripeRegisterWebhook(id: number, baseUrl: string | null): Promise<Registration>
  stripeBackfill(id: number, resources: string[]): Promise<BackfillReport>
  /** Stops the running backfill after its current page (it resumes from there next time). */
  stripeBackfillCancel(): Promise<void>
  /** Calls `handler` for each `backfill-progress` event. Resolves to an unsubscribe function. */
  onBackfillProgress(handler: (progress: BackfillProgress) => void): Promise<() => void>
  tunnelSetToken(token: string): Promise<void>
  tunnelStart(): Promise<TunnelInfo>
  tunnelStop(): Promise<TunnelInfo>

  // Data subject requests
  /** The inbox: open requests by days left, then closed ones. */
  requestsList(): Promise<Request[]>
  /** `received` is `YYYY-MM-DD` (null = today). */
  requestCreate(kind: string, email: string, regime: string, received: string | null): Promise<Request>
  /** The request with its steps (its audit entries). */
  requestPage(id: number): Promise<RequestPage>
  requestExtend(id: number, reason: string): Promise<Request>
  requestVerifyIdentity(id: number, method: string): Promise<Request>
  requestNote(id: number, text: string): Promise<Request>
  requestReject(id: number, reason: string): Promise<Request>
  requestComplete(id: number): Promise<Request>
  erasurePlan(id: number): Promise<Plan>
  /** Executes (or resumes) the erasure; refused while the plan has a blocked item. */
  erasureExecute(id: number): Promise<ErasureResult>
  /** Writes the receipt for the data subject to `path` (HTML, or JSON for `.json`). */
  erasureReceipt(id: number, path: string): Promise<Receipt>
  /** Builds the access package (.zip) into the folder `dir`. */
  /** Builds the package into `dir`; `null` = the user's Downloads folder. */
  accessPackage(id: number, dir: string | null): Promise<AccessPackage>
  /** Calls `handler` for each `access-progress` event. Resolves to an unsubscribe function. */
  onAccessProgress(handler: (progress: AccessProgress) => void): Promise<() => void>
  /** Asks the user for a folder; `null` when they cancel. */
  chooseFolder(title: string): Promise<string | null>
  auditList(requestId: number | null): Promise<AuditEntry[]>
  auditVerify(): Promise<AuditCheck>
  /** This install's keychain entries, and the orphaned ones (names only, never secrets). */
  keychainCheck(): Promise<KeychainReport>
  /** Removes the orphaned entries (never another live install's); recorded in the audit trail. */
  keychainRemoveOrphans(): Promise<KeychainReport>
  financialRetentionGet(): Promise<RetentionSettings>
  /** Exactly one of `years` and `preset`. */
  financialRetentionSet(years: number | null, preset: string | null): Promise<RetentionSettings>
}

export function isBackendError(e: unknown): e is BackendError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as BackendError).code === 'string' &&
    typeof (e as BackendError).message === 'string'
  )
}

/** Any rejection as `{code, message}`: Rust errors pass through, the rest become `unknown`. */
export function toBackendError(e: unknown): BackendError {
  if (isBackendError(e)) return { code: e.code, message: e.message }
  if (typeof e === 'string' && e.trim()) return { code: 'unknown', message: e }
  if (e instanceof Error && e.message) return { code: 'unknown', message: e.message }
  return { code: 'unknown', message: 'Something went wrong talking to the Privacy Desk core.' }
}

/** The text to show for a failed call. */
export function errorMessage(e: unknown): string {
  return toBackendError(e).message
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args)
  } catch (e) {
    throw toBackendError(e)
  }
}

export const tauriBackend: Backend = {
  appInfo: () => call('app_info'),
  dashboard: () => call('dashboard'),
  processorsList: () => call('processors_list'),
  processorAddStripe: (name) => call('processor_add_stripe', { name }),
  processorAddManual: (name) => call('processor_add_manual', { name }),
  processorAddWebhook: (name, config, signingSecret) => call('processor_add_webhook', { name, config, signingSecret }),
  processorSetSecret: async (id, secret) => {
    await call<null>('processor_set_secret', { id, secret })
  },
  processorShow: (id) => call('processor_show', { id }),
  stripeEventTypes: () => call('stripe_event_types'),
  activityQuery: (query) => call('activity_query', { query }),
  activityDetail: (id) => call('activity_detail', { id }),
  activityExportCsv: (query, path) => call('activity_export_csv', { query, path }),
  subjectsSearch: (text) => call('subjects_search', { text }),
  subjectDetail: (id) => call('subject_detail', { id }),
  deliveriesList: (limit) => call('deliveries_list', { limit }),
  settingsGet: () => call('settings_get'),
  settingsSave: (settings) => call('settings_save', { settings }),
  ropaReport: () => call('ropa_report'),
  ropaActivitySave: (id, fields, processorIds) => call('ropa_activity_save', { id, fields, processorIds }),
  ropaActivityDelete: async (id) => {
    await call<null>('ropa_activity_delete', { id })
  },
  ropaChecklistSet: (key, doneOn, evidence) => call('ropa_checklist_set', { key, doneOn, evidence }),
  ropaExport: (format, path) => call('ropa_export', { format, path }),
  // The dialogs open from Rust, which remembers their answers as the only places (besides
  // Downloads) the export commands will write to.
  chooseSavePath: (defaultName, filterName, extension) => call('choose_save_path', { defaultName, filterName, extension }),
  onActivityChanged: async (handler) => {
    const unlisten = await listen<number>(ACTIVITY_CHANGED, (event) => {
      const n = Number(event.payload)
      handler(Number.isFinite(n) ? n : 0)
    })
    return unlisten
  },
  stripeSetKey: (id, key) => call('stripe_set_key', { id, key }),
  stripeCheck: (id) => call('stripe_check', { id }),
  stripeErasureMethod: (id) => call('stripe_erasure_method', { id }),
  stripeSetErasureMethod: (id, method) => call('stripe_set_erasure_method', { id, method }),
  stripeCatchUp: (id) => call('stripe_catch_up', { id }),
  stripeLastCatchUp: (id) => call('stripe_last_catch_up', { id }),
  stripeRegisterWebhook: (id, baseUrl) => call('stripe_register_webhook', { id, baseUrl }),
  stripeBackfill: (id, resources) => call('stripe_backfill', { id, resources }),
  stripeBackfillCancel: () => call('stripe_backfill_cancel'),
  onBackfillProgress: async (handler) => {
    try {
      return await listen<BackfillProgress>(BACKFILL_PROGRESS, (event) => handler(event.payload))
    } catch (e) {
      throw toBackendError(e)
    }
  },
  tunnelSetToken: async (token) => {
    await call<null>('tunnel_set_token', { token })
  },
  tunnelStart: () => call('tunnel_start'),
  tunnelStop: () => call('tunnel_stop'),
  requestsList: () => call('requests_list'),
  requestCreate: (kind, email, regime, received) => call('request_create', { kind, email, regime, received }),
  requestPage: (id) => call('request_page', { id }),
  requestExtend: (id, reason) => call('request_extend', { id, reason }),
  requestVerifyIdentity: (id, method) => call('request_verify_identity', { id, method }),
  requestNote: (id, text) => call('request_note', { id, text }),
  requestReject: (id, reason) => call('request_reject', { id, reason }),
  requestComplete: (id) => call('request_complete', { id }),
  erasurePlan: (id) => call('erasure_plan', { id }),
  erasureExecute: (id) => call('erasure_execute', { id }),
  erasureReceipt: (id, path) => call('erasure_receipt', { id, path }),
  accessPackage: (id, dir) => call('access_package', { id, dir }),
  onAccessProgress: async (handler) => {
    try {
      return await listen<AccessProgress>(ACCESS_PROGRESS, (event) => handler(event.payload))
    } catch (e) {
      throw toBackendError(e)
    }
  },
  chooseFolder: (title) => call('choose_folder', { title }),
  auditList: (requestId) => call('audit_list', { requestId }),
  auditVerify: () => call('audit_verify'),
  keychainCheck: () => call('keychain_check'),
  keychainRemoveOrphans: () => call('keychain_remove_orphans'),
  financialRetentionGet: () => call('financial_retention_get'),
  financialRetentionSet: (years, preset) => call('financial_retention_set', { years, preset }),
}
