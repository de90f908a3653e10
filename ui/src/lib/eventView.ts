// The event drawer for people: the minimised event document (docs/data-minimisation.md) as
// groups of labelled facts, money in its currency, times in the user's zone, and what changed.
// Pure functions; `locale` and `timeZone` are parameters so that tests can pin them.

import { humanise } from './format'

export interface Locale {
  /** BCP 47 tag; `undefined` is the user's. */
  locale?: string
  /** IANA zone; `undefined` is the user's. */
  timeZone?: string
}

// ---------------------------------------------------------------------------------------------
// Money

/** The currencies this engine knows (ISO 4217), or `null` where it cannot list them. */
function knownCurrencies(): Set<string> | null {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] }
  try {
    return intl.supportedValuesOf ? new Set(intl.supportedValuesOf('currency')) : null
  } catch {
    return null
  }
}
const KNOWN = knownCurrencies()

/**
 * The number of minor-unit digits of `currency` (`usd` → 2, `JPY` → 0, `kwd` → 3) as the
 * locale data says (ISO 4217); `null` for a code that is not a currency.
 */
export function minorUnitDigits(currency: string | null | undefined): number | null {
  const code = currency?.trim().toUpperCase() ?? ''
  if (!/^[A-Z]{3}$/.test(code) || (KNOWN && !KNOWN.has(code))) return null
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits ?? null
  } catch {
    return null
  }
}

/** An amount as Stripe sends it, in minor units, as an exact integer; `null` if it is not one. */
function minorUnits(v: unknown): bigint | null {
  if (typeof v === 'bigint') return v
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v)
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return BigInt(v.trim())
  return null
}

const NUMERIC = new Set(['integer', 'group', 'decimal', 'fraction'])

/**
 * An amount in minor units in its currency: (4500, "usd") → "$45.00", (4500, "jpy") → "¥4,500",
 * (-1250, "kwd") → "-KWD 1.250". The digits are exact for any size (no floating point).
 * A currency that is not one (or none) gives the amount and the code as they came: "4,500 XYZ".
 */
export function formatMoney(amount: unknown, currency: string | null | undefined, loc: Locale = {}): string {
  const minor = minorUnits(amount)
  const digits = minorUnitDigits(currency)
  const code = currency?.trim().toUpperCase() ?? ''
  if (minor === null) return amount === null || amount === undefined ? '—' : `${String(amount)}${code ? ` ${code}` : ''}`
  if (digits === null) {
    const n = new Intl.NumberFormat(loc.locale).format(minor)
    return code ? `${n} ${code}` : n
  }
  const nf = new Intl.NumberFormat(loc.locale, {
    style: 'currency',
    currency: code,
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  })
  const negative = minor < 0n
  const abs = negative ? -minor : minor
  const scale = 10n ** BigInt(digits)
  const fraction = (abs % scale).toString().padStart(digits, '0')
  // The number as the locale writes it (grouping, decimal sign), the fraction exact; placed
  // where the locale puts a number in a currency amount of that sign.
  const number = nf
    .formatToParts(abs / scale)
    .filter((p) => NUMERIC.has(p.type))
    .map((p) => (p.type === 'fraction' ? fraction : p.value))
    .join('')
  let out = ''
  let placed = false
  for (const p of nf.formatToParts(negative ? -1n : 1n)) {
    if (!NUMERIC.has(p.type)) out += p.value
    else if (!placed) {
      out += number
      placed = true
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Times

/** A time as Stripe or the backend sends it: unix seconds, unix ms, or RFC 3339. */
export function toDate(v: unknown): Date | null {
  let d: Date | null = null
  if (typeof v === 'number' && Number.isFinite(v)) {
    // Unix seconds until the year 5138; a number of ms that small would be before 1973.
    d = new Date(Math.abs(v) < 1e11 ? v * 1000 : v)
  } else if (typeof v === 'string' && v.trim() !== '') {
    d = /^-?\d+$/.test(v.trim()) ? toDate(Number(v)) : new Date(v)
  }
  return d && !Number.isNaN(d.getTime()) ? d : null
}

export interface TimeText {
  /** In the user's locale and zone, to the second: "5 Mar 2026, 14:04:05 CET". */
  text: string
  /** The same instant in UTC, for the tooltip: "2026-03-05 13:04:05 UTC". */
  utc: string
  /** For `<time datetime>`. */
  iso: string
}

export function formatTime(v: unknown, loc: Locale = {}): TimeText | null {
  const d = toDate(v)
  if (!d) return null
  const text = d.toLocaleString(loc.locale, {
    timeZone: loc.timeZone,
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'short',
  })
  const iso = d.toISOString()
  return { text, utc: `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`, iso }
}

// ---------------------------------------------------------------------------------------------
// The document, grouped

export type GroupKey = 'who' | 'what' | 'amounts' | 'status' | 'when'

export const GROUP_TITLES: Record<GroupKey, string> = {
  who: 'Who',
  what: 'What',
  amounts: 'Amounts',
  status: 'Status',
  when: 'When',
}

/** One value as shown: text, an id (whole, copyable) or a time (UTC on hover). */
export type Shown = { kind: 'text'; text: string } | { kind: 'id'; text: string } | { kind: 'time'; text: string; utc: string; iso: string }

export interface Row {
  /** The field's name in the document (`amount_refunded`, `subject.email`). */
  key: string
  label: string
  value: Shown
  /** The value before the update, where the event says it changed. */
  before?: Shown
}

export interface Group {
  key: GroupKey
  title: string
  rows: Row[]
}

const AMOUNTS: Record<string, string> = {
  amount: 'Amount',
  amount_captured: 'Amount captured',
  amount_refunded: 'Amount refunded',
  amount_received: 'Amount received',
  amount_subtotal: 'Subtotal',
  amount_total: 'Total',
  total: 'Total',
  amount_due: 'Amount due',
  amount_paid: 'Amount paid',
  amount_remaining: 'Amount remaining',
}

const TIMES: Record<string, string> = {
  created: 'Created at the processor',
  canceled_at: 'Cancelled',
  due_date: 'Due date',
  period_start: 'Period start',
  period_end: 'Period end',
  start_date: 'Started',
  cancel_at: 'Cancels at',
  ended_at: 'Ended',
}

const IDS: Record<string, string> = {
  payment_intent: 'Payment intent',
  latest_charge: 'Latest charge',
  charge: 'Charge',
  balance_transaction: 'Balance transaction',
  invoice: 'Invoice',
  latest_invoice: 'Latest invoice',
  subscription: 'Subscription',
  payment_method: 'Payment method',
  related_object_id: 'Related object',
}

const STATUS: Record<string, string> = {
  status: 'Status',
  payment_status: 'Payment status',
  paid: 'Paid',
  captured: 'Captured',
  refunded: 'Refunded',
  disputed: 'Disputed',
  delinquent: 'Delinquent',
  deleted: 'Deleted',
  cancel_at_period_end: 'Cancels at period end',
  failure_code: 'Failure code',
  code: 'Error code',
  decline_code: 'Decline code',
  type: 'Outcome',
  reason: 'Reason',
  billing_reason: 'Billing reason',
}

const WHAT: Record<string, string> = {
  number: 'Invoice number',
  mode: 'Mode',
  usage: 'Usage',
  related_object_type: 'Related object type',
  related_object_url: 'Related object path',
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
}

function nonEmpty(v: unknown): boolean {
  return v !== null && v !== undefined && v !== ''
}

/** Text of any JSON value: booleans as Yes/No, codes humanised, objects joined. */
function plainText(v: unknown, code = false): string {
  if (v === null || v === undefined || v === '') return '—'
  if (typeof v === 'boolean') return v ? 'Yes' : 'No'
  if (typeof v === 'string') return code ? humanise(v) : v
  if (typeof v === 'number') return String(v)
  if (Array.isArray(v)) return v.map((x) => plainText(x)).join(', ')
  return Object.values(obj(v))
    .filter(nonEmpty)
    .map((x) => plainText(x))
    .join(', ')
}

const text = (t: string): Shown => ({ kind: 'text', text: t })

/** A postal address in the order it is written: "27 Kestrel Row, M4 6BT Manchester, GB". */
export function addressText(v: unknown): string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return plainText(v)
  const a = obj(v)
  const part = (k: string) => (typeof a[k] === 'string' && a[k] !== '' ? (a[k] as string) : null)
  const town = [part('postal_code'), part('city')].filter(Boolean).join(' ')
  const known = ['line1', 'line2', 'postal_code', 'city', 'state', 'country']
  const rest = Object.entries(a).filter(([k, x]) => !known.includes(k) && nonEmpty(x)).map(([, x]) => plainText(x))
  const out = [part('line1'), part('line2'), town || null, part('state'), part('country'), ...rest].filter(Boolean)
  return out.length ? out.join(', ') : '—'
}

/** A field of `fields` (or `previous`) as shown; `currency` for its amounts. */
function show(key: string, v: unknown, currency: unknown, loc: Locale): Shown {
  if (v === null || v === undefined) return text('—')
  if (key in AMOUNTS) return text(formatMoney(v, typeof currency === 'string' ? currency : null, loc))
  if (key in TIMES) {
    const t = formatTime(v, loc)
    return t ? { kind: 'time', ...t } : text(plainText(v))
  }
  if (key === 'id' || key === 'customer' || key in IDS) return typeof v === 'string' ? { kind: 'id', text: v } : text(plainText(v))
  if (key === 'currency') return text(typeof v === 'string' ? v.toUpperCase() : plainText(v))
  if (key in STATUS) return text(plainText(v, typeof v === 'string' && /^[a-z_]+$/.test(v)))
  return text(plainText(v))
}

function groupOf(key: string): GroupKey {
  if (key in AMOUNTS || key === 'currency') return 'amounts'
  if (key in TIMES) return 'when'
  if (key in STATUS) return 'status'
  return 'what'
}

function labelOf(key: string): string {
  return AMOUNTS[key] ?? TIMES[key] ?? IDS[key] ?? STATUS[key] ?? WHAT[key] ?? humanise(key)
}

/** Nested facts flattened: `{a: {b: 1}}` → `a.b`. */
function flat(o: Record<string, unknown>): [string, unknown][] {
  const out: [string, unknown][] = []
  for (const [k, v] of Object.entries(o)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) out.push(...flat(v as Record<string, unknown>).map(([kk, vv]) => [`${k}.${kk}`, vv] as [string, unknown]))
    else out.push([k, v])
  }
  return out
}

export interface EventFacts {
  /** The event's own type, `customer.updated`. */
  eventType: string
  eventId: string
  occurredAt: string
  receivedAt: string
}

export interface EventView {
  groups: Group[]
  /** How many rows carry a before value. */
  changed: number
  /** The sentence on what was not kept. */
  notKept: string
}

const CATEGORY_WORDS: Record<string, string> = {
  email: 'email address',
  name: 'name',
  postal_address: 'postal address',
  phone: 'phone number',
  shipping_address: 'shipping address',
  payment_card: 'card details',
  tax_id: 'tax ids',
}

function list(words: string[]): string {
  if (words.length <= 1) return words.join('')
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`
}

/** The fixed policy of docs/data-minimisation.md, in one sentence. */
export const NEVER_KEPT =
  'Privacy Desk never keeps card details, fingerprints, client secrets, receipt and invoice URLs, phone numbers, shipping details, tax ids, metadata or free text, and does not store the raw event.'

/**
 * "What Privacy Desk did not keep": the categories the event carried that are not among the
 * data kept, then the fixed policy.
 */
export function notKeptSentence(observed: string[], kept: Set<string>): string {
  const dropped = observed.filter((c) => !kept.has(c)).map((c) => CATEGORY_WORDS[c] ?? humanise(c).toLowerCase())
  const first = dropped.length ? `This event carried ${list([...new Set(dropped)])}, which Privacy Desk did not keep. ` : ''
  return first + NEVER_KEPT
}

/**
 * The stored document of an event as groups of rows, each field once: the object's id and
 * the customer id appear once though the document holds them twice (`object_id` and
 * `fields.id`, `customer_ref` and `fields.customer`); amounts in `fields.currency`; for an
 * update, each changed field with its value before.
 */
export function eventView(data: unknown, facts: EventFacts, loc: Locale = {}): EventView {
  const d = obj(data)
  const fields = obj(d.fields)
  const previous = obj(d.previous)
  const subject = obj(d.subject)
  const currency = fields.currency
  const previousCurrency = 'currency' in previous ? previous.currency : currency
  const groups: Record<GroupKey, Row[]> = { who: [], what: [], amounts: [], status: [], when: [] }
  let changed = 0
  const add = (g: GroupKey, row: Row) => {
    if (row.before) changed++
    groups[g].push(row)
  }

  // Who
  const subjectRows: [string, string, unknown, unknown][] = [
    ['subject.name', 'Name', subject.name, subject.previous_name],
    ['subject.email', 'Email', subject.email, subject.previous_email],
    ['subject.address', 'Address', subject.address, subject.previous_address],
  ]
  for (const [key, label, now, before] of subjectRows) {
    if (!nonEmpty(now) && !nonEmpty(before)) continue
    const t = key === 'subject.address' ? addressText : (x: unknown) => plainText(x)
    add('who', { key, label, value: text(t(now)), ...(nonEmpty(before) ? { before: text(t(before)) } : {}) })
  }
  const customer = typeof d.customer_ref === 'string' && d.customer_ref ? d.customer_ref : fields.customer
  const objectKind = typeof d.object === 'string' ? d.object : null
  const objectId = typeof d.object_id === 'string' && d.object_id ? d.object_id : fields.id
  if (typeof customer === 'string' && customer) {
    const before = 'customer' in previous ? { before: show('customer', previous.customer, null, loc) } : {}
    add('who', { key: 'customer', label: 'Customer', value: { kind: 'id', text: customer }, ...before })
  }

  // What
  add('what', { key: 'event_type', label: 'Event type', value: text(facts.eventType) })
  if (objectKind) add('what', { key: 'object', label: 'Object', value: text(humanise(objectKind.replace(/\./g, ' '))) })
  // A customer event's object is the customer: its id is shown once, under Who.
  if (typeof objectId === 'string' && objectId && objectId !== customer) {
    add('what', { key: 'object_id', label: 'Object id', value: { kind: 'id', text: objectId } })
  }
  add('what', { key: 'event_id', label: 'Event id', value: { kind: 'id', text: facts.eventId } })

  // When: the event's own times first.
  for (const [key, label, v] of [
    ['occurred_at', 'Occurred', facts.occurredAt],
    ['received_at', 'Received', facts.receivedAt],
  ] as const) {
    const t = formatTime(v, loc)
    add('when', { key, label, value: t ? { kind: 'time', ...t } : text('—') })
  }

  // The business facts, each once, with their previous value.
  const seen = new Set(['id', 'customer'])
  // The backend stores them flat (`outcome.type` as `type`); anything nested is shown by path.
  const fieldRows = flat(fields)
  for (const [k] of flat(previous)) {
    if (!fieldRows.some(([f]) => f === k)) fieldRows.push([k, null])
  }
  const hasAmount = fieldRows.some(([k]) => k in AMOUNTS)
  for (const [key, v] of fieldRows) {
    if (seen.has(key)) continue
    seen.add(key)
    // The currency is in every amount; alone it is a fact of its own.
    if (key === 'currency' && hasAmount && !('currency' in previous)) continue
    const before = key in previous ? { before: show(key, previous[key], previousCurrency, loc) } : {}
    add(groupOf(key), { key, label: labelOf(key), value: show(key, v, currency, loc), ...before })
  }

  const kept = new Set<string>()
  if (nonEmpty(subject.email)) kept.add('email')
  if (nonEmpty(subject.name)) kept.add('name')
  if (nonEmpty(subject.address)) kept.add('postal_address')
  const observed = Array.isArray(d.observed) ? d.observed.filter((x): x is string => typeof x === 'string') : []

  return {
    groups: (Object.keys(groups) as GroupKey[]).filter((g) => groups[g].length).map((g) => ({ key: g, title: GROUP_TITLES[g], rows: groups[g] })),
    changed,
    notKept: notKeptSentence(observed, kept),
  }
}
