// The Processing Activity Log's filter form, and the ActivityQuery it becomes.

import type { Activity, ActivityQuery, Processor } from './types'

export const PAGE_SIZE = 50

/** What the filter form holds: exactly what the inputs show, all strings ('' = any). */
export interface FilterForm {
  /** `stripe`, a webhook processor's name, or '' */
  source: string
  /** Exact type or glob with `*`, optionally `source:`-prefixed. */
  eventType: string
  /** Email (current or earlier) or name text. */
  subject: string
  /** YYYY-MM-DD (local day), inclusive */
  from: string
  /** YYYY-MM-DD (local day), inclusive */
  to: string
  status: string
}

export const EMPTY_FILTERS: Readonly<FilterForm> = Object.freeze({
  source: '',
  eventType: '',
  subject: '',
  from: '',
  to: '',
  status: '',
})

/** The wildcard groups offered for the event type (Stripe object families). */
export const TYPE_GROUPS: readonly { glob: string; label: string }[] = [
  { glob: 'customer.*', label: 'Customer events (includes customer.subscription.*)' },
  { glob: 'customer.subscription.*', label: 'Subscriptions' },
  { glob: 'charge.*', label: 'Charges, refunds and disputes on charges' },
  { glob: 'payment_intent.*', label: 'Payment intents' },
  { glob: 'invoice.*', label: 'Invoices' },
  { glob: 'checkout.session.*', label: 'Checkout sessions' },
]

export const ACTIVITY_STATUSES: readonly { value: string; label: string }[] = [
  { value: 'linked', label: 'Linked to a subject' },
  { value: 'unlinked', label: 'Not linked yet' },
  { value: 'no_subject', label: 'No personal data' },
  { value: 'pending', label: 'Pending' },
  { value: 'awaiting_fetch', label: 'Awaiting fetch' },
]

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/

/** Parses YYYY-MM-DD; `null` when it is not a real calendar day. */
export function parseDay(day: string): { y: number; m: number; d: number } | null {
  const match = DAY.exec(day.trim())
  if (!match) return null
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const probe = new Date(Date.UTC(y, m - 1, d))
  if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== m - 1 || probe.getUTCDate() !== d) {
    return null
  }
  return { y, m, d }
}

/** Minutes to add to local time to get UTC (as `Date#getTimezoneOffset`) at local midnight. */
export type OffsetAt = (y: number, m: number, d: number) => number

const localOffset: OffsetAt = (y, m, d) => new Date(y, m - 1, d).getTimezoneOffset()

/** `2026-03-05` (a local day) → the RFC 3339 UTC instant of its midnight, `2026-03-04T23:00:00Z`. */
export function dayStartRfc3339(day: string, offsetAt: OffsetAt = localOffset): string {
  const p = parseDay(day)
  if (!p) throw new Error(`not a date: ${day}`)
  const ms = Date.UTC(p.y, p.m - 1, p.d) + offsetAt(p.y, p.m, p.d) * 60_000
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}

/** The day after `day`, as YYYY-MM-DD. */
export function nextDay(day: string): string {
  const p = parseDay(day)
  if (!p) throw new Error(`not a date: ${day}`)
  return new Date(Date.UTC(p.y, p.m - 1, p.d + 1)).toISOString().slice(0, 10)
}

/** The inclusive local-day range as `since` (inclusive) and `until` (exclusive) instants. */
export function dateRange(
  from: string,
  to: string,
  offsetAt: OffsetAt = localOffset,
): { since: string | null; until: string | null } {
  return {
    since: from.trim() ? dayStartRfc3339(from, offsetAt) : null,
    until: to.trim() ? dayStartRfc3339(nextDay(to), offsetAt) : null,
  }
}

/** What is wrong with the form, in words for the user; `null` when it can be queried. */
export function filterProblem(form: FilterForm): string | null {
  if (form.from.trim() && !parseDay(form.from)) return 'The start date is not a valid date.'
  if (form.to.trim() && !parseDay(form.to)) return 'The end date is not a valid date.'
  if (form.from.trim() && form.to.trim() && form.from.trim() > form.to.trim()) {
    return 'The start date is after the end date.'
  }
  if (/\s/.test(form.eventType.trim())) return 'An event type has no spaces, e.g. customer.created or customer.*.'
  return null
}

function text(v: string): string | null {
  const t = v.trim()
  return t === '' ? null : t
}

/** The event type filter as the backend's glob: trimmed; a trailing `.` means the whole family. */
export function normaliseEventType(input: string): string | null {
  const t = input.trim()
  if (!t) return null
  // `customer.` reads as "customer events": make it the group's glob.
  if (t.endsWith('.')) return `${t}*`
  return t
}

/** Whether the pattern (with `*` wildcards) matches the type; `source:` prefixes are compared too. */
export function typeMatches(pattern: string, eventType: string): boolean {
  let [pSource, pType] = splitSource(pattern)
  const [eSource, eType] = splitSource(eventType)
  if (pSource !== null && eSource !== null && pSource !== eSource) return false
  pType = pType.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')
  return new RegExp(`^${pType}$`).test(eType)
}

function splitSource(t: string): [string | null, string] {
  const i = t.indexOf(':')
  return i < 0 ? [null, t] : [t.slice(0, i), t.slice(i + 1)]
}

/**
 * The form as an ActivityQuery. Throws when `filterProblem(form)` is not null.
 * Dates are local days: `since` is the start of `from`, `until` the start of the day after `to`.
 */
export function buildQuery(
  form: FilterForm,
  opts: { cursor?: string | null; limit?: number; offsetAt?: OffsetAt } = {},
): ActivityQuery {
  const problem = filterProblem(form)
  if (problem) throw new Error(problem)
  const { since, until } = dateRange(form.from, form.to, opts.offsetAt)
  return {
    source: text(form.source),
    event_type: normaliseEventType(form.eventType),
    subject: text(form.subject),
    since,
    until,
    status: text(form.status),
    cursor: opts.cursor ?? null,
    limit: opts.limit ?? PAGE_SIZE,
  }
}

/** The query for "Export CSV": the same filter, every matching row (the backend ignores `limit`). */
export function exportQuery(form: FilterForm, offsetAt?: OffsetAt): ActivityQuery {
  return buildQuery(form, { cursor: null, limit: 0, offsetAt })
}

export function hasActiveFilters(form: FilterForm): boolean {
  return (Object.keys(EMPTY_FILTERS) as (keyof FilterForm)[]).some((k) => form[k].trim() !== '')
}

/** Filters carried in a link, e.g. `#/activity?subject=ada@example.com&type=customer.*`. */
const PARAM_KEYS: Record<keyof FilterForm, string> = {
  source: 'source',
  eventType: 'type',
  subject: 'subject',
  from: 'from',
  to: 'to',
  status: 'status',
}

export function formFromParams(params: URLSearchParams): FilterForm {
  const form = { ...EMPTY_FILTERS }
  for (const [key, param] of Object.entries(PARAM_KEYS) as [keyof FilterForm, string][]) {
    form[key] = params.get(param) ?? ''
  }
  return form
}

export function paramsFromForm(form: FilterForm): URLSearchParams {
  const params = new URLSearchParams()
  for (const [key, param] of Object.entries(PARAM_KEYS) as [keyof FilterForm, string][]) {
    const v = form[key].trim()
    if (v) params.set(param, v)
  }
  return params
}

/** The sources to filter by: `stripe` for Stripe processors, the name of each webhook processor. */
export function sourcesFromProcessors(processors: Processor[]): string[] {
  const out = new Set<string>()
  for (const p of processors) {
    if (p.kind === 'stripe') out.add('stripe')
    else if (p.kind !== 'manual') out.add(p.name)
  }
  return [...out].sort()
}

/** Appends a page to the loaded rows, dropping any row already shown. */
export function appendPage(rows: Activity[], more: Activity[]): Activity[] {
  const seen = new Set(rows.map((r) => r.id))
  return rows.concat(more.filter((r) => !seen.has(r.id)))
}

/** How many rows to reload after a live update: everything loaded so far, within bounds. */
export function reloadLimit(loaded: number, max = 500): number {
  return Math.min(Math.max(loaded, PAGE_SIZE), max)
}
