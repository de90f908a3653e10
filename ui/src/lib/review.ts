// The access package's review before release, for people: each record in plain words (what it
// is, when, how much, its id), its fields with labels, what is withheld and why. Which records
// and fields exist, their ids, which ground needs a reason and what may still change come from
// the backend (requests/access/review.rs); this only shows them. Pure functions.

import { formatMoney, formatTime, type Locale, type TimeText } from './eventView'
import { humanise, plural } from './format'
import type { AccessReview, AuditEntry, GroundInfo, ReviewRecord, Withheld } from './types'

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v : null
}

/** A record in a line: what it is, a detail, when, how much, its id. */
export interface RecordWords {
  type: string
  detail: string | null
  date: TimeText | null
  amount: string | null
  id: string | null
}

/** An amount of a Stripe-shaped object (`amount`, `total`, …) in its currency, or null. */
function amountOf(o: Record<string, unknown>, keys: string[], loc: Locale): string | null {
  const key = keys.find((k) => typeof o[k] === 'number' || (typeof o[k] === 'string' && /^-?\d+$/.test(o[k] as string)))
  return key ? formatMoney(o[key], str(o.currency), loc) : null
}

/** `stripe:charge.succeeded` → "Charge succeeded". */
function eventTypeWords(t: unknown): string {
  const s = str(t)
  if (!s) return 'Event'
  const type = s.includes(':') ? s.slice(s.indexOf(':') + 1) : s
  return humanise(type.replace(/\./g, ' '))
}

const STRIPE_TYPES: Record<string, string> = {
  stripe_customer: 'Stripe customer',
  stripe_charges: 'Charge',
  stripe_payment_intents: 'Payment intent',
  stripe_invoices: 'Invoice',
  stripe_subscriptions: 'Subscription',
  stripe_payment_methods: 'Payment method',
}

/** A record of category `category` in plain words. */
export function recordWords(category: string, data: Record<string, unknown>, loc: Locale = {}): RecordWords {
  const d = obj(data)
  switch (category) {
    case 'profile':
      return { type: 'Profile', detail: str(d.name) ?? str(d.email), date: formatTime(d.first_seen_at, loc), amount: null, id: null }
    case 'email_history':
      return {
        type: d.replaced_at ? 'Earlier email address' : 'Email address',
        detail: str(d.email),
        date: formatTime(d.first_seen_at, loc),
        amount: null,
        id: null,
      }
    case 'activity': {
      const details = obj(d.details)
      return {
        type: eventTypeWords(d.event_type),
        detail: str(d.object_id),
        date: formatTime(d.occurred_at, loc),
        amount: amountOf(details, ['amount', 'amount_total', 'total', 'amount_due', 'amount_paid', 'amount_received'], loc),
        id: str(d.event_id),
      }
    }
    case 'requests':
      return {
        type: `${humanise(str(d.kind) ?? 'data subject')} request`,
        detail: str(d.status) ? humanise(d.status as string) : null,
        date: formatTime(d.received_at, loc),
        amount: null,
        id: typeof d.id === 'number' ? `#${d.id}` : null,
      }
    default: {
      const type = STRIPE_TYPES[category] ?? humanise(category)
      let detail: string | null = str(d.status) ? humanise(d.status as string) : null
      if (category === 'stripe_customer') detail = str(d.name) ?? str(d.email)
      if (category === 'stripe_invoices' && str(d.number)) detail = `No. ${d.number}${detail ? ` · ${detail}` : ''}`
      if (category === 'stripe_payment_methods') {
        const brand = str(d.brand)
        detail = [brand ? humanise(brand) : null, str(d.last4) ? `•••• ${d.last4}` : null].filter(Boolean).join(' ') || null
      }
      return {
        type,
        detail,
        date: formatTime(d.created ?? d.start_date, loc),
        amount: amountOf(d, ['amount', 'total', 'amount_due', 'amount_received'], loc),
        id: str(d.id),
      }
    }
  }
}

/** `personal_data.name` → "Personal data › Name". */
export function fieldLabel(field: string): string {
  return field
    .split('.')
    .map((p) => humanise(p))
    .join(' › ')
}

/** The value of `field` (as the backend names fields: a key, or `key.sub`) in `data`. */
export function fieldValue(data: Record<string, unknown>, field: string): unknown {
  if (field in data) return data[field]
  for (let i = field.indexOf('.'); i >= 0; i = field.indexOf('.', i + 1)) {
    const inner = obj(data[field.slice(0, i)])
    const rest = field.slice(i + 1)
    if (rest in inner) return inner[rest]
  }
  return undefined
}

/** Any JSON value as text: empty as "—", booleans Yes/No, lists and objects joined. */
export function valueText(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—'
  if (typeof v === 'boolean') return v ? 'Yes' : 'No'
  if (typeof v === 'string' || typeof v === 'number') return String(v)
  if (Array.isArray(v)) return v.length ? v.map(valueText).join(', ') : '—'
  const entries = Object.entries(obj(v)).filter(([, x]) => x !== null && x !== undefined && x !== '')
  return entries.length ? entries.map(([k, x]) => `${humanise(k)}: ${valueText(x)}`).join('; ') : '—'
}

export interface FieldRow {
  field: string
  label: string
  text: string
  withheld: boolean
}

/**
 * The record's fields as rows, each once: an object with fields of its own is shown by them
 * (`address.city`, …), anything else as it is. A field of a withheld object counts as withheld.
 */
export function fieldRows(rec: ReviewRecord): FieldRow[] {
  const parents = new Set(rec.fields.filter((f) => rec.fields.some((g) => g.startsWith(`${f}.`))))
  const withheld = (f: string) => rec.withheld || rec.withheld_fields.some((w) => w === f || f.startsWith(`${w}.`))
  return rec.fields
    .filter((f) => !parents.has(f))
    .map((f) => ({ field: f, label: fieldLabel(f), text: valueText(fieldValue(rec.data, f)), withheld: withheld(f) }))
}

const GROUND_WORDS: Record<string, string> = {
  other_person: "another person's data",
  legal_privilege: 'legal privilege',
  other: 'another reason',
}

/** Why something is withheld, in a few words: the ground, or for `other` the reason given. */
export function withheldReason(w: Pick<Withheld, 'ground' | 'ground_label' | 'text'>): string {
  if (w.ground === 'other' && w.text) return w.text
  return w.ground_label
}

/** What a withholding takes out: "activity:evt_1" or "Personal data › Name of activity:evt_1". */
export function withheldTarget(w: Pick<Withheld, 'record_id' | 'field'>): string {
  return w.field ? `${fieldLabel(w.field)} of ${w.record_id}` : w.record_id
}

/** Whether the withhold form may be sent: a ground chosen, and the reason where it needs one. */
export function withholdReady(ground: string, text: string, grounds: GroundInfo[]): boolean {
  const g = grounds.find((x) => x.value === ground)
  return !!g && (!g.needs_text || text.trim() !== '')
}

/** The review in a sentence: how many records, and what is withheld. */
export function reviewSummary(r: AccessReview): string {
  const n = r.categories.reduce((s, c) => s + c.records.length, 0)
  const cats = r.categories.filter((c) => c.records.length > 0).length
  const held = `${plural(n, 'record')} in ${plural(cats, 'category', 'categories')}`
  const records = r.withheld.filter((w) => !w.field).length
  const fields = r.withheld.length - records
  const parts = [records ? plural(records, 'record') : null, fields ? plural(fields, 'detail') : null].filter(Boolean)
  if (r.state.released) {
    return parts.length ? `Released: ${held}; ${parts.join(' and ')} withheld.` : `Released: ${held}; nothing withheld.`
  }
  return parts.length ? `${held}. Withheld so far: ${parts.join(' and ')}.` : `${held}. Nothing is withheld.`
}

/** The withholdings whose record is not in the package as built now (undo them to release). */
export function staleWithheld(r: AccessReview): Withheld[] {
  return r.withheld.filter((w) => !w.in_package)
}

/** What a review step of the request's trail recorded, in words (the steps list). */
export function reviewStepNote(e: Pick<AuditEntry, 'action' | 'details'>): string | null {
  const d = e.details ?? {}
  const target = typeof d.record_id === 'string' ? withheldTarget({ record_id: d.record_id, field: typeof d.field === 'string' ? d.field : null }) : null
  const ground = typeof d.ground === 'string' ? (GROUND_WORDS[d.ground] ?? humanise(d.ground)) : null
  const reason = typeof d.reason === 'string' && d.reason.trim() ? d.reason.trim() : null
  switch (e.action) {
    case 'access.withheld':
      return target ? `${target} withheld: ${reason && d.ground === 'other' ? reason : (ground ?? 'no ground')}` : null
    case 'access.unwithheld':
      return target ? `${target} no longer withheld` : null
    case 'access.released': {
      const r = Number(d.withheld_records) || 0
      const f = Number(d.withheld_fields) || 0
      const parts = [r ? plural(r, 'record') : null, f ? plural(f, 'detail') : null].filter(Boolean)
      return parts.length ? `Released with ${parts.join(' and ')} withheld` : 'Released with nothing withheld'
    }
    default:
      return null
  }
}
