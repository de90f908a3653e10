// An in-memory Backend for tests. Not imported by the app.

import type { Backend, BackendError } from './backend'
import { typeMatches } from './filters'
import type {
  Activity,
  ActivityDetail,
  ActivityQuery,
  AppInfo,
  Dashboard,
  Delivery,
  Processor,
  Settings,
  Subject,
  SubjectDetail,
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
    eventTypes: ['customer.created', 'customer.updated', 'customer.deleted', 'charge.succeeded', 'invoice.paid'],
    dashboard: {
      receiver: { running: true, address: '127.0.0.1:8787', error: null },
      tunnel: { state: 'off', public_url: null, error: null },
      events_per_day: days30(),
      rejected_last_24h: 0,
    },
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

    appInfo: track('appInfo', () => data.appInfo),
    dashboard: track('dashboard', () => ({ ...data.dashboard, processors: data.processors })),
    processorsList: track('processorsList', () => data.processors),
    processorAddStripe: track('processorAddStripe', (name: string | null) => {
      const p = stripeProcessor(nextProcessorId++, { name: name ?? 'Stripe', created_at: new Date().toISOString() })
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
    chooseSavePath: track('chooseSavePath', () => mock.savePath),
    onActivityChanged: track('onActivityChanged', (handler: (n: number) => void) => {
      listeners.add(handler)
      return () => listeners.delete(handler)
    }) as Backend['onActivityChanged'],
  }
  return mock
}

function subjectOf(s: SubjectDetail): Subject {
  const { id, email, name, created_at, activity_count, status } = s
  return { id, email, name, created_at, activity_count, status }
}
