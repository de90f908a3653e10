// Fixture data for the tests' invoke-level mock (mockIpc.ts): values shaped as the Rust side
// sends them, and a few fixture sets that keep a list between calls. No rule of the backend
// (filters, plans, deadlines) is reproduced here: a test that needs an answer states it.

import type { BackendError } from '../lib/backend'
import type {
  AccessReview,
  Activity,
  ActivityPage,
  ActivityQuery,
  Attempt,
  BackupReport,
  BackupStatus,
  ChecklistItem,
  FoundBackup,
  Dashboard,
  Health,
  HealthCheck,
  Job,
  JobStatus,
  JobsReport,
  KeychainReport,
  NextStep,
  Permission,
  Plan,
  PlanItem,
  Processor,
  Request,
  RestoreReport,
  RetentionSettings,
  Ropa,
  Schedule,
  Settings,
  StepKey,
  Workflow,
} from '../lib/types'
import type { Fixtures } from './mockIpc'

export function days30(end = '2026-03-30', counts: (i: number) => number = () => 0) {
  const [y, m, d] = end.split('-').map(Number)
  return Array.from({ length: 30 }, (_, i) => ({
    day: new Date(Date.UTC(y, m - 1, d - 29 + i)).toISOString().slice(0, 10),
    count: counts(i),
  }))
}

export function defaultSettings(): Settings {
  return {
    org: { name: '', address: '', email: '', dpo_name: '', dpo_email: '', representative: '' },
    receiver_port: 8787,
    data_dir: '/home/officer/.local/share/privacy-desk',
    retention_days: null,
    background_receiving: false,
  }
}

export function emptyRopa(): Ropa {
  const step = (key: string, label: string): ChecklistItem => ({ key, label, done_on: null, evidence: '' })
  return {
    generated_at: '2026-03-30T12:00:00Z',
    controller: defaultSettings().org,
    activities: [],
    processors: [],
    checklist: [
      step('stripe_terms_reviewed', 'Stripe terms of service reviewed'),
      step('dpa_executed', 'Data processing agreement (DPA) executed'),
      step('stripe_in_ropa', 'Stripe recorded in the RoPA'),
      step('retention_policy', 'Retention policy documented'),
      step('webhook_minimisation', 'Webhook data minimisation reviewed'),
      step('privacy_notice', 'Privacy notice updated'),
    ],
    gaps: [],
  }
}

export function dashboard(processors: Processor[] = [], over: Partial<Dashboard> = {}): Dashboard {
  return {
    receiver: { running: true, address: '127.0.0.1:8787', error: null },
    tunnel: { state: 'off', public_url: null, error: null },
    processors,
    events_per_day: days30(),
    rejected_last_24h: 0,
    ...over,
  }
}

/** The core's jobs in its order, with its titles (jobs/mod.rs `Job::title`). */
export const JOBS: readonly [Job, string][] = [
  ['catch_up', 'Catch up with Stripe'],
  ['stripe_pending', 'Customer lookups and thin events'],
  ['retention', 'Retention purges'],
  ['reminders', 'Deadline reminders'],
  ['deliveries_cap', 'Deliveries log cap'],
  ['waiting_erasures', 'Erasures waiting to finish'],
  ['backup', 'Daily backup'],
]

/** One job as `jobs_report` sends it: never run and not scheduled unless `over` says otherwise. */
export function jobStatus(name: Job, over: Partial<JobStatus> = {}): JobStatus {
  return {
    name,
    title: JOBS.find(([j]) => j === name)?.[1] ?? name,
    last_run_at: null,
    last_ok_at: null,
    next_run_at: null,
    last_error: null,
    failures: 0,
    summary: '',
    ...over,
  }
}

/** Every job (each as `jobs` states it, else never run), and what waits for a key. */
export function jobsReport(jobs: Partial<Record<Job, Partial<JobStatus>>> = {}, waiting: JobsReport['waiting'] = []): JobsReport {
  return { jobs: JOBS.map(([name]) => jobStatus(name, jobs[name])), waiting }
}

export function stripeProcessor(id: number, over: Partial<Processor> = {}): Processor {
  return {
    id,
    name: 'Stripe',
    kind: 'stripe',
    endpoint_id: `ep${id}`,
    webhook_path: `/webhooks/stripe/ep${id}?token=tok${id}`,
    webhook_url: `http://127.0.0.1:8787/webhooks/stripe/ep${id}?token=tok${id}`,
    created_at: '2026-03-01T09:00:00Z',
    status: 'awaiting_first_event',
    last_event_at: null,
    removed_at: null,
    api_key_stored: false,
    ...over,
  }
}

export function activity(id: number, over: Partial<Activity> = {}): Activity {
  return {
    id,
    source: 'stripe',
    event_type: 'stripe:customer.created',
    event_id: `evt_${id}`,
    occurred_at: new Date(Date.UTC(2026, 2, 1, 12, 0, id)).toISOString(),
    received_at: new Date(Date.UTC(2026, 2, 1, 12, 0, id + 1)).toISOString(),
    subject_email: null,
    status: 'no_subject',
    processor_id: 1,
    subject_id: null,
    ...over,
  }
}

/** `rows` (newest first) as pages of `q.limit` after the cursor (the last id shown). */
export function pageOf(rows: Activity[], q: ActivityQuery): ActivityPage {
  const start = q.cursor ? rows.findIndex((a) => String(a.id) === q.cursor) + 1 : 0
  const page = rows.slice(start, start + q.limit)
  const more = start + q.limit < rows.length
  return { rows: page, total: rows.length, next_cursor: more && page.length ? String(page[page.length - 1].id) : null }
}

export const TODAY = new Date().toISOString().slice(0, 10)

/** A request as the backend sends it: open, 30 days left, extension allowed, unless `over` says otherwise. */
export function request(id: number, over: Partial<Request> = {}): Request {
  return {
    id,
    kind: 'access',
    email: `person${id}@example.com`,
    subject: `sh_${id}`,
    erased: false,
    regime: 'gdpr',
    received_at: `${TODAY}T00:00:00Z`,
    due_at: '2099-01-31T00:00:00Z',
    days_left: 30,
    overdue: false,
    extension: { allowed: true, due_at: '2099-03-31T00:00:00Z', refusal: null },
    status: 'received',
    extended: false,
    extension_reason: null,
    identity_method: null,
    identity_verified_at: null,
    notes: '',
    completed_at: null,
    created_at: `${TODAY}T00:00:00Z`,
    ...over,
  }
}

/** The step the backend says is due (`next_step` of a request page). */
export function nextStep(key: StepKey, label: string = key, why = 'Why this step is due.'): NextStep {
  return { key, label, why }
}

/** What a request page adds to the request: the due step and whether closing or building needs a reason. */
export interface PageState {
  next_step: NextStep
  closing_needs_reason: boolean
  identity_override_needed: boolean
}

/** A page whose due step is to mark it answered: nothing asks for a reason. */
export function pageState(over: Partial<PageState> = {}): PageState {
  return { next_step: nextStep('mark_answered', 'Mark answered'), closing_needs_reason: false, identity_override_needed: false, ...over }
}

export function plan(r: Pick<Request, 'id' | 'subject'>, over: Partial<Plan> = {}): Plan {
  const item = (target: string, action: string, reason: string, extra: Partial<PlanItem> = {}): PlanItem => ({
    target,
    action,
    legal_basis: null,
    retain_until: null,
    reason,
    ...extra,
  })
  return {
    request_id: r.id,
    subject: r.subject,
    data_held: true,
    identity_verified: true,
    stripe: 'live',
    blocked: false,
    foreign_objects_dropped: 0,
    changed: [],
    items: [
      item('local:profile', 'erase', "the data subject's record: 1 email address with their history"),
      item('stripe:customer:cus_1', 'erase', 'DELETE /v1/customers/cus_1'),
      item('local:financial_records', 'retain', '2 financial records are kept, pseudonymised', {
        legal_basis: 'GDPR Art. 17(3)(b) and Art. 6(1)(c): legal obligation',
        retain_until: '2034-01-01T00:00:00Z',
      }),
    ],
    ...over,
  }
}

export function retentionSettings(): RetentionSettings {
  return {
    current: { years: 7, preset: 'default' },
    presets: [
      { key: 'default', years: 7, label: '7 years (common default; UK HMRC practice)' },
      { key: 'de', years: 10, label: 'Germany: 10 years (HGB § 257, AO § 147)' },
      { key: 'fr', years: 10, label: 'France: 10 years (Code de commerce L123-22)' },
      { key: 'uk', years: 6, label: 'United Kingdom: 6 years (Companies Act 2006 s. 388, HMRC)' },
      { key: 'us', years: 7, label: 'United States: 7 years (IRS guidance for records supporting returns)' },
    ],
  }
}

export function keychainReport(over: Partial<KeychainReport> = {}): KeychainReport {
  return {
    install_id: '3f0c9a1e5b7d4c2a8e6f1b3d5a7c9e0f',
    keychain_namespace: '3f0c9a1e5b7d4c2a8e6f1b3d5a7c9e0f',
    upgraded: false,
    created_at: '2026-03-01T09:00:00Z',
    keychain_listing: 'complete',
    entries: 3,
    orphans: [],
    other_installs: [],
    removed: [],
    ...over,
  }
}

/** The permissions `stripe_check` reports, all granted unless named in `missing`. */
export function permissions(missing: string[] = []): Permission[] {
  return [
    'customers_read',
    'customers_write',
    'charges_read',
    'payment_intents_read',
    'invoices_read',
    'subscriptions_read',
    'events_read',
    'webhook_endpoints_write',
  ].map((name) => ({ name, granted: !missing.includes(name) }))
}

export function workflows(disabled: string[] = []): Workflow[] {
  return ['webhook_registration', 'catch_up', 'thin_events', 'customer_lookup', 'backfill_customers', 'backfill_payments', 'erasure_at_stripe'].map(
    (name) => ({ name, enabled: !disabled.includes(name) }),
  )
}

export const EVENT_TYPES = ['customer.created', 'customer.updated', 'customer.deleted', 'charge.succeeded', 'invoice.paid']

export const noKey = (id: number): BackendError => ({ code: 'not_found', message: `processor ${id} has no Stripe API key: set one first` })

/**
 * The processors as a list the commands read and append to (what `processorsList`,
 * `processorShow`, the `processorAdd…` commands and the dashboard answer).
 */
export function processorFixtures(list: Processor[] = [], over: Partial<Dashboard> = {}): Fixtures & { list: Processor[] } {
  const next = () => Math.max(0, ...list.map((p) => p.id)) + 1
  const find = (id: number) => {
    const p = list.find((x) => x.id === id)
    if (!p) throw { code: 'not_found', message: `no processor with id ${id}` } satisfies BackendError
    return p
  }
  const add = (p: Processor) => (list.push(p), p)
  const removed: Processor[] = []
  return {
    list,
    processorsList: () => list,
    processorShow: (id) => find(id),
    processorAddStripe: (name) => add(stripeProcessor(next(), { name: name ?? 'Stripe' })),
    processorAddManual: (name) => {
      const id = next()
      return add({ ...stripeProcessor(id, { name, kind: 'manual' }), endpoint_id: null, webhook_path: null, webhook_url: null })
    },
    processorAddWebhook: (name) => {
      const id = next()
      return add(
        stripeProcessor(id, {
          name,
          kind: 'webhook',
          webhook_path: `/webhooks/custom/ep${id}?token=tok${id}`,
          webhook_url: `http://127.0.0.1:8787/webhooks/custom/ep${id}?token=tok${id}`,
        }),
      )
    },
    processorSetSecret: (id) => (find(id), null),
    processorRename: (id, name) => Object.assign(find(id), { name }),
    processorRemove: (id) => {
      const p = Object.assign(find(id), { status: 'removed' as const, removed_at: '2026-03-02T10:00:00Z', webhook_url: null, webhook_path: null })
      list.splice(list.indexOf(p), 1)
      removed.unshift(p)
      return { processor: p, stripe_webhook: null }
    },
    processorsRemoved: () => removed,
    processorDeliveries: [],
    dashboard: () => dashboard(list, over),
  }
}

/** An access request's review before any package is built (or one as the test states it). */
export function accessReview(id: number, over: Partial<AccessReview> = {}): AccessReview {
  return {
    request_id: id,
    state: { built: false, released: false, withheld: 0 },
    path: null,
    sha256: null,
    built_at: null,
    released_at: null,
    stripe: null,
    files: [],
    categories: [],
    withheld: [],
    grounds: [
      { value: 'other_person', label: "Another person's data (Art. 15(4))", needs_text: false },
      { value: 'legal_privilege', label: 'Legal privilege', needs_text: false },
      { value: 'other', label: 'Another reason (say which)', needs_text: true },
    ],
    ...over,
  }
}

export const DOWNLOADS = '/home/officer/Downloads'

/** The backup schedule as `backup_status` sends it: off, Downloads, keep 7, no passphrase, unless `over` says otherwise. */
export function backupSchedule(over: Partial<Schedule> = {}): Schedule {
  return {
    enabled: false,
    folder: null,
    keep: 7,
    include_credentials: true,
    folder_in_use: DOWNLOADS,
    passphrase_set: false,
    next_due_at: null,
    ...over,
  }
}

/** One recorded backup attempt: a good one made with "Back up now" unless `over` says otherwise. */
export function attempt(over: Partial<Attempt> = {}): Attempt {
  return {
    at: '2026-03-29T22:15:00Z',
    scheduled: false,
    ok: true,
    path: `${DOWNLOADS}/privacy-desk-2026-03-29-2215.pdbackup`,
    bytes: 4_404_019,
    error: null,
    ...over,
  }
}

/** What `backup_status` answers: nothing backed up yet, unless `over` says otherwise. */
export function backupStatus(over: Partial<BackupStatus> = {}): BackupStatus {
  return { last_attempt: null, last_good: null, schedule: backupSchedule(), new_install: false, ...over }
}

/** What "Back up now" reports. */
export function backupReport(over: Partial<BackupReport> = {}): BackupReport {
  return {
    path: `${DOWNLOADS}/privacy-desk-2026-03-30-0914.pdbackup`,
    sha256: '9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d0f',
    bytes: 13_000_000,
    manifest: {
      format: 1,
      app_version: '0.1.0',
      created_at: '2026-03-30T09:14:05Z',
      schema_version: 16,
      counts: { processors: 2, events: 1200, subjects: 300, requests: 4, audit_entries: 57 },
      audit_head: { id: 57, hash: 'a1b2c3' },
      database: { bytes: 12_800_000, sha256: '0d1e2f' },
      secrets: ['app/audit-key', 'app/hash-key'],
      credentials_included: true,
    },
    ...over,
  }
}

/** A backup file `backup_found` lists: a daily one in Downloads unless `over` says otherwise. */
export function foundBackup(over: Partial<FoundBackup> = {}): FoundBackup {
  const name = over.name ?? 'privacy-desk-2026-03-29-2215.pdbackup'
  return { path: `${DOWNLOADS}/${name}`, name, bytes: 4_404_019, modified_at: '2026-03-29T22:15:40Z', ...over }
}

/** Where the open dialog's answer is, in the fixtures: a drive outside the backup folders. */
export const CHOSEN_BACKUP = '/media/officer/USB/privacy-desk-2026-03-27-1810.pdbackup'

/** What `backup_restore` reports: the backup of `backupReport()`, its trail intact, every secret carried, unless `over` says otherwise. */
export function restoreReport(over: Partial<RestoreReport> = {}): RestoreReport {
  const manifest = backupReport().manifest
  return {
    data_dir: '/home/officer/.local/share/privacy-desk',
    manifest,
    secrets_restored: manifest.secrets,
    secrets_to_reenter: [],
    audit_intact: true,
    ...over,
  }
}

/**
 * Settings → Backups over one schedule the commands read and replace: `backupScheduleSave`
 * and `backupSetPassphrase` answer with the schedule as sent (the backend's refusals are for
 * each test to state, with `failNext` or its own fixture). Restoring: no backup found, the
 * open dialog answers `CHOSEN_BACKUP`, a restore reports `restoreReport()`.
 */
export function backupFixtures(start: Partial<BackupStatus> = {}): Fixtures & { state: BackupStatus } {
  const state = backupStatus(start)
  return {
    state,
    backupStatus: () => state,
    backupScheduleSave: (input) => {
      state.schedule = { ...state.schedule, ...input, folder_in_use: input.folder ?? DOWNLOADS }
      return state.schedule
    },
    backupSetPassphrase: () => {
      state.schedule = { ...state.schedule, passphrase_set: true }
      return state.schedule
    },
    backupNow: () => backupReport(),
    backupFound: [],
    chooseOpenPath: CHOSEN_BACKUP,
    backupRestore: () => restoreReport(),
    appRestart: null,
  }
}

/** The core's health checks in its order, with its titles (health.rs). */
export const HEALTH_CHECKS: readonly [string, string][] = [
  ['database', 'Database'],
  ['audit', 'Audit trail'],
  ['keychain', 'Keychain'],
  ['receiver', 'Webhook receiver'],
  ['backup', 'Backups'],
  ['disk', 'Disk space'],
]

/** Every check as `health_check` sends it: all OK unless `checks` says otherwise. */
export function health(checks: Record<string, Partial<HealthCheck>> = {}, over: Partial<Health> = {}): Health {
  const all = HEALTH_CHECKS.map(([name, title]): HealthCheck => ({ name, title, status: 'ok', detail: `${title.toLowerCase()} is fine`, fix: null, ...checks[name] }))
  const worst = all.some((c) => c.status === 'problem') ? 'problem' : all.some((c) => c.status === 'warning') ? 'warning' : 'ok'
  return { status: worst, checked_at: '2026-03-30T09:20:00Z', checks: all, backup: backupStatus(), ...over }
}

/** What an app with nothing in it answers. */
export function defaultFixtures(): Fixtures {
  const { list: _list, ...processors } = processorFixtures([])
  const { state: _backups, ...backups } = backupFixtures()
  void _list
  void _backups
  return {
    appInfo: { name: 'Privacy Desk', version: '0.1.0', data_dir: '/home/officer/.local/share/privacy-desk' },
    ...processors,
    stripeEventTypes: EVENT_TYPES,
    activityQuery: (q) => pageOf([], q),
    deliveriesList: [],
    subjectsSearch: [],
    subjectDetail: (id) => {
      throw { code: 'not_found', message: `no data subject with id ${id}` } satisfies BackendError
    },
    subjectRequests: [],
    settingsGet: defaultSettings(),
    settingsSave: (s) => s,
    // Start at login: off, as on a new install; a change is answered as asked.
    autostartGet: false,
    autostartSet: (enabled) => enabled,
    ropaReport: emptyRopa(),
    chooseSavePath: '/tmp/export.csv',
    chooseFolder: '/home/officer/Documents',
    keychainCheck: keychainReport(),
    stripeErasureMethod: 'delete',
    stripeLastCatchUp: { last_run_at: null, fetched: 0, new: 0, duplicates: 0 },
    stripeCatchUp: (id) => {
      throw noKey(id)
    },
    stripeBackfill: (id) => {
      throw noKey(id)
    },
    stripeRegisterWebhook: (id) => {
      throw noKey(id)
    },
    stripeBackfillCancel: null,
    requestsList: [],
    requestRegimes: [
      { value: 'gdpr', label: 'GDPR', period: 'the GDPR period (fixture)' },
      { value: 'uk-gdpr', label: 'UK GDPR', period: 'the UK GDPR period (fixture)' },
      { value: 'ccpa', label: 'CCPA', period: 'the CCPA period (fixture)' },
    ],
    auditList: [],
    accessReview: (id) => accessReview(id),
    financialRetentionGet: retentionSettings(),
    jobsReport: jobsReport(),
    ...backups,
    healthCheck: health(),
  }
}

/**
 * A Stripe account behind the key and registration commands: keys stored by processor id, the
 * permissions a restricted key lacks (`missing`) and the workflows that are then off
 * (`disabled`) as the test states them, and whether the app's tunnel runs.
 */
export function stripeAccount(opts: { missing?: string[]; disabled?: string[]; tunnel?: boolean } = {}) {
  const account = { keys: {} as Record<number, string>, tunnel: opts.tunnel ?? false }
  const keyOf = (id: number) => {
    if (!account.keys[id]) throw noKey(id)
    return account.keys[id]
  }
  const fixtures: Fixtures = {
    stripeSetKey: (id, key) => {
      account.keys[id] = key
      const secret = key.startsWith('sk_')
      return {
        processor_id: id,
        key_kind: secret ? 'secret' : 'restricted',
        livemode: key.includes('_live_'),
        stored: true,
        warning: secret ? 'this is a full secret key (`sk_…`): it can do anything on the Stripe account' : null,
      }
    },
    stripeCheck: (id) => {
      const secret = keyOf(id).startsWith('sk_')
      return {
        key_kind: secret ? 'secret' : 'restricted',
        livemode: keyOf(id).includes('_live_'),
        permissions: permissions(secret ? [] : opts.missing),
        workflows: workflows(secret ? [] : opts.disabled),
        redaction_jobs_available: false,
      }
    },
    stripeRegisterWebhook: (id, baseUrl) => {
      if (!baseUrl && !account.tunnel) throw { code: 'invalid_input', message: 'start the tunnel first, or enter the public URL of this computer' }
      keyOf(id)
      return {
        processor_id: id,
        webhook_endpoint_id: `we_${id}`,
        action: 'created',
        enabled_events: EVENT_TYPES,
        signing_secret_stored: true,
        needs_signing_secret: false,
      }
    },
  }
  return { account, fixtures }
}
