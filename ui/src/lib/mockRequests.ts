// The data-subject-request part of the in-memory test Backend (mockBackend.ts). Not imported by the app.

import type { RequestKind } from './bindings/RequestKind'
import type { Backend, BackendError } from './backend'
import { extensionEligibility, firstDue, isClosed, sortInbox, todayUtc, utcDay } from './requests'
import type {
  AccessPackage,
  AccessProgress,
  AuditEntry,
  ErasureResult,
  Plan,
  PlanItem,
  Request,
  RetentionSettings,
} from './types'

export interface MockDsr {
  requests: Request[]
  /** Steps by request id (added to as the mock records actions). */
  steps: Record<number, AuditEntry[]>
  /** The plan `erasurePlan` returns, by request id (default: erase the profile, keep financial records). */
  plans: Record<number, Plan>
  /** The folder `chooseFolder` returns (null = the user cancelled). */
  folder: string | null
  /** Awaited after each access-progress event (tests pause a build here). */
  onAccessStep: ((p: AccessProgress) => Promise<void> | void) | null
  retention: RetentionSettings
  /** "Today" for deadlines, `YYYY-MM-DD` (default: the real today, UTC). */
  today: string | null
}

export function emptyDsr(): MockDsr {
  return {
    requests: [],
    steps: {},
    plans: {},
    folder: '/home/officer/Documents',
    onAccessStep: null,
    retention: {
      current: { years: 7, preset: 'default' },
      presets: [
        { key: 'default', years: 7, label: '7 years (common default; UK HMRC practice)' },
        { key: 'de', years: 10, label: 'Germany: 10 years (HGB § 257, AO § 147)' },
        { key: 'fr', years: 10, label: 'France: 10 years (Code de commerce L123-22)' },
        { key: 'uk', years: 6, label: 'United Kingdom: 6 years (Companies Act 2006 s. 388, HMRC)' },
        { key: 'us', years: 7, label: 'United States: 7 years (IRS guidance for records supporting returns)' },
      ],
    },
    today: null,
  }
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000)
}

/** A request as the backend sends it; `days_left` follows `due_at` when not given. */
export function mockRequest(id: number, over: Partial<Request> = {}, today = todayUtc()): Request {
  const received_at = over.received_at ?? `${today}T00:00:00Z`
  const regime = over.regime ?? 'gdpr'
  const due_at = over.due_at ?? `${firstDue(regime, utcDay(received_at))}T00:00:00Z`
  return {
    id,
    kind: 'access',
    email: `person${id}@example.com`,
    subject: `sh_${id}`,
    erased: false,
    regime,
    received_at,
    due_at,
    days_left: daysBetween(today, utcDay(due_at)),
    status: 'received',
    extended: false,
    extension_reason: null,
    identity_method: null,
    identity_verified_at: null,
    notes: '',
    completed_at: null,
    created_at: received_at,
    ...over,
  }
}

export function defaultPlan(r: Request): Plan {
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
    identity_verified: r.identity_method !== null,
    stripe: 'live',
    blocked: false,
    foreign_objects_dropped: 0,
    changed: [],
    items: [
      item('local:profile', 'erase', "the data subject's record: 1 email address(es) with their history"),
      item('stripe:customer:cus_1', 'erase', 'DELETE /v1/customers/cus_1'),
      item('local:financial_records', 'retain', '2 financial record(s) are kept, pseudonymised', {
        legal_basis: 'GDPR Art. 17(3)(b) and Art. 6(1)(c): legal obligation',
        retain_until: '2034-01-01T00:00:00Z',
      }),
    ],
  }
}

type Track = <A extends unknown[], R>(name: keyof Backend, fn: (...args: A) => R) => (...args: A) => Promise<Awaited<R>>

type DsrMethods = Pick<
  Backend,
  | 'requestsList'
  | 'requestCreate'
  | 'requestPage'
  | 'requestExtend'
  | 'requestVerifyIdentity'
  | 'requestNote'
  | 'requestReject'
  | 'requestComplete'
  | 'erasurePlan'
  | 'erasureExecute'
  | 'erasureReceipt'
  | 'accessPackage'
  | 'onAccessProgress'
  | 'chooseFolder'
  | 'auditList'
  | 'auditVerify'
  | 'financialRetentionGet'
  | 'financialRetentionSet'
>

export function dsrMethods(dsr: () => MockDsr, track: Track): DsrMethods {
  const listeners = new Set<(p: AccessProgress) => void>()
  let auditId = 1000
  const today = () => dsr().today ?? todayUtc()
  const find = (id: number) => {
    const r = dsr().requests.find((x) => x.id === id)
    if (!r) throw { code: 'not_found', message: `no request with id ${id}` } satisfies BackendError
    return r
  }
  const open = (id: number) => {
    const r = find(id)
    if (isClosed(r.status)) throw { code: 'blocked', message: `request ${id} is ${r.status} already` } satisfies BackendError
    return r
  }
  const step = (id: number, action: string, actor = 'user') => {
    const list = (dsr().steps[id] ??= [])
    list.push({ id: auditId++, at: new Date().toISOString(), actor, action, request_id: id, subject: find(id).subject, details: {}, hash: 'h' })
  }
  const need = (v: string, message: string) => {
    if (!v.trim()) throw { code: 'invalid_input', message } satisfies BackendError
    return v.trim()
  }

  return {
    requestsList: track('requestsList', () => sortInbox(dsr().requests)),
    requestCreate: track('requestCreate', (kind: string, email: string, regime: string, received: string | null) => {
      const e = email.trim().toLowerCase()
      if (!/^[^\s@]+@[^\s@]+$/.test(e)) throw { code: 'invalid_input', message: '--email is not an email address' } satisfies BackendError
      const id = Math.max(0, ...dsr().requests.map((r) => r.id)) + 1
      const r = mockRequest(id, { kind: kind as RequestKind, email: e, regime, received_at: `${received ?? today()}T00:00:00Z` }, today())
      dsr().requests.push(r)
      step(id, 'request.created')
      return r
    }),
    requestPage: track('requestPage', (id: number) => ({ ...find(id), steps: dsr().steps[id] ?? [] })),
    requestExtend: track('requestExtend', (id: number, reason: string) => {
      const r = open(id)
      const why = need(reason, 'give the reason for the extension (--reason)')
      const e = extensionEligibility(r, today())
      if (!e.allowed) throw { code: 'blocked', message: e.reason } satisfies BackendError
      Object.assign(r, { extended: true, extension_reason: why, due_at: `${e.newDue}T00:00:00Z`, days_left: daysBetween(today(), e.newDue) })
      step(id, 'request.extended')
      return r
    }),
    requestVerifyIdentity: track('requestVerifyIdentity', (id: number, method: string) => {
      const r = open(id)
      Object.assign(r, {
        identity_method: need(method, 'say how the identity was verified (--method)'),
        identity_verified_at: new Date().toISOString(),
        status: r.status === 'received' ? 'identity_verified' : r.status,
      })
      step(id, 'request.identity_verified')
      return r
    }),
    requestNote: track('requestNote', (id: number, text: string) => {
      const r = open(id)
      const t = need(text, 'the note is empty')
      r.notes = r.notes ? `${r.notes}\n${t}` : t
      step(id, 'request.note_added')
      return r
    }),
    requestReject: track('requestReject', (id: number, reason: string) => {
      const r = open(id)
      const why = need(reason, 'give the reason for rejecting the request (--reason)')
      r.notes = r.notes ? `${r.notes}\nRejected: ${why}` : `Rejected: ${why}`
      r.status = 'rejected'
      step(id, 'request.rejected')
      return r
    }),
    requestComplete: track('requestComplete', (id: number) => {
      const r = open(id)
      Object.assign(r, { status: 'completed', completed_at: new Date().toISOString() })
      step(id, 'request.completed')
      return r
    }),
    erasurePlan: track('erasurePlan', (id: number) => {
      const r = find(id)
      if (r.kind !== 'erasure') throw { code: 'invalid_input', message: `request ${id} is not an erasure request` } satisfies BackendError
      return dsr().plans[id] ?? defaultPlan(r)
    }),
    erasureExecute: track('erasureExecute', (id: number): ErasureResult => {
      const r = open(id)
      const plan = dsr().plans[id] ?? defaultPlan(r)
      if (plan.blocked) throw { code: 'blocked', message: 'the erasure is blocked: resolve the blocked items first' } satisfies BackendError
      const completed_at = new Date().toISOString()
      Object.assign(r, { status: 'completed', completed_at, erased: true, email: r.subject })
      step(id, 'erasure.completed', 'system')
      return {
        request_id: id,
        status: 'completed',
        steps: ['stripe', 'local'],
        events_deleted: 3,
        records_retained: 2,
        stripe_customers_deleted: plan.items.filter((i) => i.target.startsWith('stripe:customer:') && i.action === 'erase').map((i) => i.target.split(':')[2]),
        stripe_redaction_jobs: [],
        completed_at,
        plan_changed: [],
      }
    }),
    erasureReceipt: track('erasureReceipt', (id: number, path: string) => {
      const r = find(id)
      if (r.status !== 'completed' || r.kind !== 'erasure') throw { code: 'blocked', message: `request ${id} has not been erased yet` } satisfies BackendError
      void path
      const plan = dsr().plans[id] ?? defaultPlan(r)
      step(id, 'erasure.receipt_written')
      return {
        request_id: id,
        subject: r.subject,
        regime: r.regime,
        received_at: r.received_at,
        completed_at: r.completed_at ?? '',
        controller: { name: '', address: '', email: '', dpo_name: '', dpo_email: '', representative: '' },
        erased: plan.items.filter((i) => i.action === 'erase'),
        retained: plan.items.filter((i) => i.action === 'retain'),
        stripe_customers_deleted: [],
        stripe_redaction_jobs: [],
        records_retained: 2,
      }
    }),
    accessPackage: track('accessPackage', async (id: number, dir: string | null): Promise<AccessPackage> => {
      const r = find(id)
      if (r.kind !== 'access') throw { code: 'invalid_input', message: `request ${id} is an ${r.kind} request` } satisfies BackendError
      for (const [done, s] of ['local data', 'stripe', 'files', 'zip'].entries()) {
        const p = { step: s, done, total: 4 }
        for (const l of listeners) l({ ...p })
        await dsr().onAccessStep?.(p)
      }
      for (const l of listeners) l({ step: 'done', done: 4, total: 4 })
      if (r.status === 'received' || r.status === 'identity_verified') r.status = 'in_progress'
      step(id, 'access.package_built', 'system')
      return {
        path: `${dir ?? '/home/officer/Downloads'}/access-request-${id}.zip`,
        sha256: 'ab'.repeat(32),
        stripe: 'live',
        foreign_objects_dropped: 0,
        files: [
          { name: 'profile.json', sha256: 'cd'.repeat(32), bytes: 120, records: 1 },
          { name: 'summary.html', sha256: 'ef'.repeat(32), bytes: 2048, records: null },
        ],
      }
    }),
    onAccessProgress: track('onAccessProgress', (handler: (p: AccessProgress) => void) => {
      listeners.add(handler)
      return () => listeners.delete(handler)
    }) as Backend['onAccessProgress'],
    chooseFolder: track('chooseFolder', () => dsr().folder),
    auditList: track('auditList', (requestId: number | null) =>
      requestId === null ? Object.values(dsr().steps).flat() : (dsr().steps[requestId] ?? []),
    ),
    auditVerify: track('auditVerify', () => ({ ok: true, entries: Object.values(dsr().steps).flat().length, first_broken: null, problem: null })),
    financialRetentionGet: track('financialRetentionGet', () => dsr().retention),
    financialRetentionSet: track('financialRetentionSet', (years: number | null, preset: string | null) => {
      const d = dsr().retention
      const y = preset !== null ? d.presets.find((p) => p.key === preset)?.years : years
      if (y === undefined || y === null) throw { code: 'invalid_input', message: `unknown retention preset '${preset}'` } satisfies BackendError
      if (!Number.isInteger(y) || y < 1 || y > 30) {
        throw { code: 'invalid_input', message: 'the financial-record retention must be between 1 and 30 years' } satisfies BackendError
      }
      d.current = { years: y, preset: d.presets.find((p) => p.years === y)?.key ?? null }
      return d
    }),
  }
}
