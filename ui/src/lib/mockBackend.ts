// An in-memory Backend for tests. Not imported by the app.

import type { Backend, BackendError } from './backend'
import { typeMatches } from './filters'
import { dsrMethods, emptyDsr, type MockDsr } from './mockRequests'
import type { ActivityFields, ChecklistItem, ErasureMethod, Format, KeychainReport, ProcessingActivity, Ropa, WebhookConfig } from './types'
import type {
  Activity,
  ActivityDetail,
  ActivityQuery,
  AppInfo,
  BackfillProgress,
  BackfillReport,
  CatchUpStatus,
  Counts,
  Dashboard,
  Delivery,
  Permission,
  Processor,
  Registration,
  Settings,
  Subject,
  SubjectDetail,
  TunnelInfo,
  Workflow,
} from './types'

export interface MockData {
  appInfo: AppInfo
  processors: Processor[]
  activity: Activity[]
  /** Minimised documents by activity id. */
  details: Record<number, ActivityDetail['data']>
  subjects: SubjectDetail[]
  deliveries: Delivery[]
  settings: Settings
  eventTypes: string[]
  dashboard: Omit<Dashboard, 'processors'>
  stripe: MockStripe
  /** The RoPA; its controller is always `settings.org`. */
  ropa: Ropa
  /** Data subject requests (mockRequests.ts). */
  dsr: MockDsr
  /** The keychain check's report. */
  keychain: KeychainReport
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

/** The Stripe API and tunnel as the mock pretends them. */
export interface MockStripe {
  /** API keys stored, by processor id. */
  keys: Record<number, string>
  /** What `stripeCheck` finds for a restricted key (a full secret key has every permission). */
  permissions: Permission[]
  /** Whether the account has Stripe redaction jobs (a Stripe preview). */
  redactionJobs: boolean
  /** Erasure method per processor id (default `delete`). */
  erasureMethods: Record<number, ErasureMethod>
  catchUps: Record<number, CatchUpStatus>
  /** What the next `stripeCatchUp` finds. */
  catchUpResult: Counts
  /** Objects per page, per resource, for `stripeBackfill`. */
  backfillPages: Record<string, number[]>
  /** Awaited after each progress event of a backfill (tests pause a run here). */
  onBackfillPage: ((p: BackfillProgress) => Promise<void> | void) | null
  registrations: Record<number, Registration>
  tunnelToken: string | null
  /** The URL `tunnelStart` opens. */
  tunnelUrl: string
  /** Makes `tunnelStart` fail like the backend does (the dashboard then shows the error). */
  tunnelFailure: BackendError | null
}

export interface MockBackend extends Backend {
  data: MockData
  /** Every call made, in order: [method name, arguments]. */
  calls: [string, unknown[]][]
  /** Makes the next call of `method` reject with this error. */
  failNext(method: keyof Backend, error: BackendError): void
  /** What `chooseSavePath` returns (default "/tmp/export.csv"; null = the user cancelled). */
  savePath: string | null
  /** Fires `activity-changed` with `count` to every listener. */
  emitActivityChanged(count: number): void
  listenerCount(): number
  /** Fires `backfill-progress` to every listener. */
  emitBackfillProgress(p: BackfillProgress): void
  backfillListenerCount(): number
}

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

export function emptyData(): MockData {
  return {
    appInfo: { name: 'Privacy Desk', version: '0.1.0', data_dir: '/home/officer/.local/share/privacy-desk' },
    processors: [],
    activity: [],
    details: {},
    subjects: [],
    deliveries: [],
    settings: defaultSettings(),
    ropa: emptyRopa(),
    eventTypes: ['customer.created', 'customer.updated', 'customer.deleted', 'charge.succeeded', 'invoice.paid'],
    dashboard: {
      receiver: { running: true, address: '127.0.0.1:8787', error: null },
      tunnel: { state: 'off', public_url: null, error: null },
      events_per_day: days30(),
      rejected_last_24h: 0,
    },
    stripe: defaultStripe(),
    dsr: emptyDsr(),
    keychain: {
      install_id: '3f0c9a1e5b7d4c2a8e6f1b3d5a7c9e0f',
      keychain_namespace: '3f0c9a1e5b7d4c2a8e6f1b3d5a7c9e0f',
      upgraded: false,
      created_at: '2026-03-01T09:00:00Z',
      keychain_listing: 'complete',
      entries: 3,
      orphans: [],
      other_installs: [],
      removed: [],
    },
  }
}

/** The permission names `stripe_check` probes, and which workflows each enables. */
export const MOCK_PERMISSIONS = [
  'customers_read',
  'customers_write',
  'charges_read',
  'payment_intents_read',
  'invoices_read',
  'subscriptions_read',
  'events_read',
  'webhook_endpoints_write',
]

const MOCK_WORKFLOWS: [string, string[]][] = [
  ['webhook_registration', ['webhook_endpoints_write']],
  ['catch_up', ['events_read']],
  ['thin_events', ['events_read']],
  ['customer_lookup', ['customers_read']],
  ['backfill_customers', ['customers_read']],
  ['backfill_payments', ['charges_read', 'payment_intents_read', 'invoices_read', 'subscriptions_read']],
  ['erasure_at_stripe', ['customers_write']],
]

export function workflowsFor(permissions: Permission[]): Workflow[] {
  const granted = new Set(permissions.filter((p) => p.granted).map((p) => p.name))
  return MOCK_WORKFLOWS.map(([name, needs]) => ({ name, enabled: needs.every((n) => granted.has(n)) }))
}

export function defaultStripe(): MockStripe {
  return {
    keys: {},
    permissions: MOCK_PERMISSIONS.map((name) => ({ name, granted: true })),
    redactionJobs: false,
    erasureMethods: {},
    catchUps: {},
    catchUpResult: { fetched: 0, new: 0, duplicates: 0 },
    backfillPages: { customers: [100, 100, 50], charges: [30], payment_intents: [20], invoices: [10], subscriptions: [5] },
    onBackfillPage: null,
    registrations: {},
    tunnelToken: null,
    tunnelUrl: 'https://privacy-desk-test.ngrok.app',
    tunnelFailure: null,
  }
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

function clone<T>(v: T): T {
  return v === undefined || typeof v === 'function' ? v : (JSON.parse(JSON.stringify(v)) as T)
}

function toMs(t: string): number {
  return /^\d{4}-\d{2}-\d{2}$/.test(t) ? Date.parse(`${t}T00:00:00Z`) : Date.parse(t)
}

function newestFirst(a: Activity, b: Activity): number {
  return b.occurred_at.localeCompare(a.occurred_at) || b.id - a.id
}

export function createMockBackend(init: Partial<MockData> = {}): MockBackend {
  const data: MockData = { ...emptyData(), ...init }
  const failures = new Map<string, BackendError>()
  const listeners = new Set<(n: number) => void>()
  const backfillListeners = new Set<(p: BackfillProgress) => void>()
  let nextProcessorId = Math.max(0, ...data.processors.map((p) => p.id)) + 1

  const track = <A extends unknown[], R>(name: keyof Backend, fn: (...args: A) => R) =>
    (async (...args: A) => {
      mock.calls.push([name, args])
      const failure = failures.get(name)
      if (failure) {
        failures.delete(name)
        throw failure
      }
      return clone(await fn(...args))
    }) as (...args: A) => Promise<Awaited<R>>

  const findProcessor = (id: number) => {
    const p = data.processors.find((x) => x.id === id)
    if (!p) throw { code: 'not_found', message: `no processor with id ${id}` } satisfies BackendError
    return p
  }

  const findStripe = (id: number) => {
    const p = findProcessor(id)
    if (p.kind !== 'stripe') throw { code: 'invalid_input', message: `processor ${id} is not a Stripe processor` } satisfies BackendError
    return p
  }
  const keyOf = (id: number) => {
    const key = data.stripe.keys[id]
    if (!key) throw { code: 'not_found', message: `processor ${id} has no Stripe API key: set one first` } satisfies BackendError
    return key
  }
  const tunnelInfo = (): TunnelInfo => ({
    token_set: data.stripe.tunnelToken !== null,
    running: data.dashboard.tunnel.state === 'on',
    url: data.dashboard.tunnel.state === 'on' ? data.dashboard.tunnel.public_url : null,
    forwards_to: data.dashboard.receiver.address ? `http://${data.dashboard.receiver.address}` : null,
    started_at: data.dashboard.tunnel.state === 'on' ? '2026-03-30T12:00:00Z' : null,
  })

  const matching = (q: ActivityQuery) =>
    data.activity
      .filter((a) => {
        if (q.source && a.source !== q.source) return false
        if (q.event_type && !typeMatches(q.event_type, a.event_type)) return false
        if (q.status && a.status !== q.status) return false
        if (q.since && Date.parse(a.occurred_at) < toMs(q.since)) return false
        if (q.until && Date.parse(a.occurred_at) >= toMs(q.until)) return false
        if (q.subject) {
          const text = q.subject.toLowerCase()
          const subject = data.subjects.find((s) => s.id === a.subject_id)
          const hay = [a.subject_email, subject?.name, ...(subject?.emails.map((e) => e.email) ?? [])]
          if (!hay.some((h) => h?.toLowerCase().includes(text))) return false
        }
        return true
      })
      .sort(newestFirst)

  const mock: MockBackend = {
    data,
    calls: [],
    savePath: '/tmp/export.csv',
    failNext(method, error) {
      failures.set(method, error)
    },
    emitActivityChanged(count) {
      for (const l of listeners) l(count)
    },
    listenerCount: () => listeners.size,
    emitBackfillProgress(p) {
      for (const l of backfillListeners) l(clone(p))
    },
    backfillListenerCount: () => backfillListeners.size,

    appInfo: track('appInfo', () => data.appInfo),
    dashboard: track('dashboard', () => ({ ...data.dashboard, processors: data.processors })),
    processorsList: track('processorsList', () => data.processors),
    processorAddStripe: track('processorAddStripe', (name: string | null) => {
      const p = stripeProcessor(nextProcessorId++, { name: name ?? 'Stripe', created_at: new Date().toISOString() })
      data.processors.push(p)
      return p
    }),
    processorAddManual: track('processorAddManual', (name: string) => {
      if (!name.trim()) throw { code: 'invalid_input', message: 'a processor name must be 1 to 100 printable characters' } satisfies BackendError
      const p: Processor = {
        ...stripeProcessor(nextProcessorId++, { name: name.trim(), kind: 'manual', created_at: new Date().toISOString() }),
        endpoint_id: null,
        webhook_path: null,
        webhook_url: null,
      }
      data.processors.push(p)
      return p
    }),
    processorAddWebhook: track('processorAddWebhook', (name: string, config: WebhookConfig, signingSecret: string | null) => {
      void signingSecret
      if (!config.id_pointer.startsWith('/')) {
        throw { code: 'invalid_input', message: '--id-pointer must be a JSON pointer (RFC 6901) such as /data/id' } satisfies BackendError
      }
      const id = nextProcessorId++
      const p = stripeProcessor(id, {
        name: name.trim(),
        kind: 'webhook',
        webhook_path: `/webhooks/custom/ep${id}?token=tok${id}`,
        webhook_url: `http://127.0.0.1:8787/webhooks/custom/ep${id}?token=tok${id}`,
        created_at: new Date().toISOString(),
      })
      data.processors.push(p)
      return p
    }),
    processorSetSecret: track('processorSetSecret', (id: number, secret: string) => {
      findProcessor(id)
      if (!secret.startsWith('whsec_')) {
        throw { code: 'invalid_input', message: 'that is not a Stripe signing secret' } satisfies BackendError
      }
    }),
    processorShow: track('processorShow', (id: number) => findProcessor(id)),
    stripeEventTypes: track('stripeEventTypes', () => data.eventTypes),
    activityQuery: track('activityQuery', (q: ActivityQuery) => {
      const all = matching(q)
      let start = 0
      if (q.cursor) start = all.findIndex((a) => String(a.id) === q.cursor) + 1
      const rows = all.slice(start, start + q.limit)
      const more = start + q.limit < all.length
      return { rows, total: all.length, next_cursor: more && rows.length ? String(rows[rows.length - 1].id) : null }
    }),
    activityDetail: track('activityDetail', (id: number): ActivityDetail => {
      const a = data.activity.find((x) => x.id === id)
      if (!a) throw { code: 'not_found', message: `no activity with id ${id}` } satisfies BackendError
      const s = data.subjects.find((x) => x.id === a.subject_id) ?? null
      return { activity: a, data: data.details[id] ?? { object: 'customer', fields: {} }, subject: s && subjectOf(s) }
    }),
    activityExportCsv: track('activityExportCsv', (q: ActivityQuery) => matching(q).length),
    subjectsSearch: track('subjectsSearch', (text: string) => {
      const t = text.trim().toLowerCase()
      return data.subjects
        .filter((s) => !t || [s.email, s.name ?? '', ...s.emails.map((e) => e.email)].some((h) => h.toLowerCase().includes(t)))
        .map(subjectOf)
    }),
    subjectDetail: track('subjectDetail', (id: number) => {
      const s = data.subjects.find((x) => x.id === id)
      if (!s) throw { code: 'not_found', message: `no data subject with id ${id}` } satisfies BackendError
      return s
    }),
    deliveriesList: track('deliveriesList', (limit: number) => data.deliveries.slice(0, limit)),
    settingsGet: track('settingsGet', () => data.settings),
    settingsSave: track('settingsSave', (s: Settings) => {
      data.settings = clone(s)
      return data.settings
    }),
    ropaReport: track('ropaReport', () => ({ ...data.ropa, controller: data.settings.org })),
    ropaActivitySave: track('ropaActivitySave', (id: number | null, fields: ActivityFields, processorIds: number[]) => {
      if (!fields.purpose.trim()) {
        throw { code: 'invalid_input', message: 'a processing activity needs a purpose' } satisfies BackendError
      }
      const existing = id === null ? undefined : data.ropa.activities.find((a) => a.id === id)
      if (id !== null && !existing) throw { code: 'not_found', message: `no processing activity with id ${id}` } satisfies BackendError
      const a: ProcessingActivity = {
        id: id ?? Math.max(0, ...data.ropa.activities.map((x) => x.id)) + 1,
        default_key: existing?.default_key ?? null,
        fields: clone(fields),
        processor_ids: [...processorIds],
        processors: processorIds.map((p) => data.processors.find((x) => x.id === p)?.name ?? '?'),
        observed: existing?.observed ?? [],
        updated_at: new Date().toISOString(),
      }
      data.ropa.activities = existing ? data.ropa.activities.map((x) => (x.id === id ? a : x)) : [...data.ropa.activities, a]
      const declared = new Set(data.ropa.activities.flatMap((x) => x.fields.data_categories))
      data.ropa.gaps = data.ropa.gaps.filter((g) => !declared.has(g.category))
      return a
    }),
    ropaActivityDelete: track('ropaActivityDelete', (id: number) => {
      data.ropa.activities = data.ropa.activities.filter((a) => a.id !== id)
    }),
    ropaChecklistSet: track('ropaChecklistSet', (key: string, doneOn: string | null, evidence: string) => {
      data.ropa.checklist = data.ropa.checklist.map((c) => (c.key === key ? { ...c, done_on: doneOn, evidence } : c))
      return data.ropa.checklist
    }),
    ropaExport: track('ropaExport', (_format: Format, _path: string) => data.ropa.activities.length),
    chooseSavePath: track('chooseSavePath', () => mock.savePath),
    onActivityChanged: track('onActivityChanged', (handler: (n: number) => void) => {
      listeners.add(handler)
      return () => listeners.delete(handler)
    }) as Backend['onActivityChanged'],

    stripeSetKey: track('stripeSetKey', (id: number, key: string) => {
      findStripe(id)
      const k = key.trim()
      const kind = k.startsWith('rk_') ? 'restricted' : k.startsWith('sk_') ? 'secret' : null
      if (!kind) {
        throw { code: 'invalid_input', message: 'that is not a Stripe API key: create a restricted key (`rk_…`) in the Stripe Dashboard under Developers → API keys' } satisfies BackendError
      }
      if (k.includes('expired')) throw { code: 'invalid_input', message: 'Stripe rejected the API key: it is wrong, revoked or expired' } satisfies BackendError
      data.stripe.keys[id] = k
      return {
        processor_id: id,
        key_kind: kind,
        livemode: k.slice(3).startsWith('live_'),
        stored: true,
        warning: kind === 'secret' ? 'this is a full secret key (`sk_…`): it can do anything on the Stripe account' : null,
      }
    }),
    stripeCheck: track('stripeCheck', (id: number) => {
      findStripe(id)
      const key = keyOf(id)
      const secret = key.startsWith('sk_')
      const permissions = secret ? MOCK_PERMISSIONS.map((name) => ({ name, granted: true })) : data.stripe.permissions
      return {
        key_kind: secret ? 'secret' : 'restricted',
        livemode: key.slice(3).startsWith('live_'),
        permissions,
        workflows: workflowsFor(permissions),
        redaction_jobs_available: data.stripe.redactionJobs,
      }
    }),
    stripeErasureMethod: track('stripeErasureMethod', (id: number) => {
      findStripe(id)
      return data.stripe.erasureMethods[id] ?? 'delete'
    }),
    stripeSetErasureMethod: track('stripeSetErasureMethod', (id: number, method: ErasureMethod) => {
      findStripe(id)
      if (method === 'redaction_job') {
        keyOf(id)
        if (!data.stripe.redactionJobs)
          throw { code: 'blocked', message: 'Stripe does not offer redaction jobs to this account or key (a Stripe preview feature)' } satisfies BackendError
      }
      data.stripe.erasureMethods[id] = method
      return method
    }),
    stripeCatchUp: track('stripeCatchUp', (id: number) => {
      findStripe(id)
      keyOf(id)
      const c = data.stripe.catchUpResult
      data.stripe.catchUps[id] = { last_run_at: new Date().toISOString(), ...c }
      return c
    }),
    stripeLastCatchUp: track('stripeLastCatchUp', (id: number) => {
      findStripe(id)
      return data.stripe.catchUps[id] ?? { last_run_at: null, fetched: 0, new: 0, duplicates: 0 }
    }),
    stripeRegisterWebhook: track('stripeRegisterWebhook', (id: number, baseUrl: string | null) => {
      findStripe(id)
      const base = baseUrl?.trim() || (data.dashboard.tunnel.state === 'on' ? data.dashboard.tunnel.public_url : null)
      if (!base) throw { code: 'invalid_input', message: 'start the tunnel first, or enter the public URL of this computer' } satisfies BackendError
      keyOf(id)
      const before = data.stripe.registrations[id]
      const r: Registration = {
        processor_id: id,
        webhook_endpoint_id: before?.webhook_endpoint_id ?? `we_${id}`,
        action: before ? 'updated' : 'created',
        enabled_events: data.eventTypes,
        signing_secret_stored: !before,
        needs_signing_secret: false,
      }
      data.stripe.registrations[id] = r
      return r
    }),
    stripeBackfillCancel: track('stripeBackfillCancel', async (): Promise<void> => {}),
    stripeBackfill: track('stripeBackfill', async (id: number, resources: string[]): Promise<BackfillReport> => {
      findStripe(id)
      keyOf(id)
      if (resources.length === 0) throw { code: 'invalid_input', message: 'name at least one resource to backfill' } satisfies BackendError
      const report: BackfillReport = { resources: [], cancelled: false }
      for (const resource of resources) {
        const pages = data.stripe.backfillPages[resource] ?? []
        let imported = 0
        for (let i = 0; i < pages.length; i++) {
          imported += pages[i]
          const p = { resource, imported, pages: i + 1, done: i === pages.length - 1 }
          mock.emitBackfillProgress(p)
          await data.stripe.onBackfillPage?.(p)
        }
        if (pages.length === 0) mock.emitBackfillProgress({ resource, imported: 0, pages: 0, done: true })
        report.resources.push({ resource, fetched: imported, new: imported, duplicates: 0, imported_total: imported, done: true })
      }
      return report
    }),
    onBackfillProgress: track('onBackfillProgress', (handler: (p: BackfillProgress) => void) => {
      backfillListeners.add(handler)
      return () => backfillListeners.delete(handler)
    }) as Backend['onBackfillProgress'],
    tunnelSetToken: track('tunnelSetToken', (token: string) => {
      const t = token.trim()
      if (t.length < 20 || !/^[A-Za-z0-9_-]+$/.test(t)) {
        throw { code: 'invalid_input', message: 'that is not an ngrok authtoken: copy it from dashboard.ngrok.com → Your Authtoken' } satisfies BackendError
      }
      data.stripe.tunnelToken = t
    }),
    tunnelStart: track('tunnelStart', () => {
      const fail = (e: BackendError) => {
        data.dashboard.tunnel = { state: 'error', public_url: null, error: e.message }
        throw e
      }
      if (!data.stripe.tunnelToken) fail({ code: 'not_found', message: 'no ngrok authtoken: set one with `privacy-desk tunnel set-token` (on stdin)' })
      if (data.stripe.tunnelFailure) fail(data.stripe.tunnelFailure)
      data.dashboard.tunnel = { state: 'on', public_url: data.stripe.tunnelUrl, error: null }
      return tunnelInfo()
    }),
    tunnelStop: track('tunnelStop', () => {
      data.dashboard.tunnel = { state: 'off', public_url: null, error: null }
      return tunnelInfo()
    }),
    ...dsrMethods(() => data.dsr, track),
    keychainCheck: track('keychainCheck', () => ({ ...data.keychain, removed: [] })),
    keychainRemoveOrphans: track('keychainRemoveOrphans', () => {
      const removed = data.keychain.orphans.map((o) => o.entry)
      data.keychain = { ...data.keychain, orphans: [] }
      return { ...data.keychain, removed }
    }),
  }
  return mock
}

function subjectOf(s: SubjectDetail): Subject {
  const { id, email, name, created_at, activity_count, status } = s
  return { id, email, name, created_at, activity_count, status }
}
