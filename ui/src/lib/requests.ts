// Data subject requests: pure logic for the inbox, the request page and the erasure plan.
// No legal rule lives here: due dates, days left and whether (and until when) a deadline may be
// extended come with each request from the Rust side (requests/deadlines.rs), and so does each
// regime's deadline in words (`requestRegimes`).

import type { Tone } from './format'
import { reviewStepNote } from './review'
import type { AuditEntry, Plan, PlanItem, Request, StepKey } from './types'

export const KINDS = [
  { value: 'access', label: 'Access (Art. 15)' },
  { value: 'erasure', label: 'Erasure (Art. 17)' },
] as const

/** Short names for tables and the form; the deadlines themselves come from Rust. */
export const REGIMES = [
  { value: 'gdpr', label: 'GDPR' },
  { value: 'uk-gdpr', label: 'UK GDPR' },
  { value: 'ccpa', label: 'CCPA' },
] as const

export function regimeLabel(regime: string): string {
  return REGIMES.find((r) => r.value === regime)?.label ?? regime.toUpperCase()
}

export function kindLabel(kind: string): string {
  return kind ? kind[0].toUpperCase() + kind.slice(1) : kind
}

export const REQUEST_STATUS: Record<string, { label: string; tone: Tone }> = {
  received: { label: 'Received', tone: 'neutral' },
  identity_verified: { label: 'Identity verified', tone: 'neutral' },
  in_progress: { label: 'In progress', tone: 'warn' },
  completed: { label: 'Completed', tone: 'good' },
  rejected: { label: 'Rejected', tone: 'neutral' },
}

export function isClosed(status: string): boolean {
  return status === 'completed' || status === 'rejected'
}

/** Red: overdue or ≤ 2 days left; amber: ≤ 7 days; green: more. Closed requests: neutral. */
export type Urgency = 'red' | 'amber' | 'green' | 'closed'

export function urgency(r: Pick<Request, 'days_left' | 'status'>): Urgency {
  if (isClosed(r.status)) return 'closed'
  if (r.days_left <= 2) return 'red'
  if (r.days_left <= 7) return 'amber'
  return 'green'
}

export function urgencyTone(u: Urgency): Tone {
  return u === 'red' ? 'bad' : u === 'amber' ? 'warn' : u === 'green' ? 'good' : 'neutral'
}

export function daysLeftLabel(days: number): string {
  if (days < 0) return `${-days} ${days === -1 ? 'day' : 'days'} overdue`
  if (days === 0) return 'Due today'
  return `${days} ${days === 1 ? 'day' : 'days'} left`
}

/** The inbox order: open requests by days left (overdue first), then closed ones, newest first. */
export function sortInbox(list: readonly Request[]): Request[] {
  return [...list].sort((a, b) => {
    const ca = isClosed(a.status)
    const cb = isClosed(b.status)
    if (ca !== cb) return ca ? 1 : -1
    if (!ca) return a.days_left - b.days_left || a.id - b.id
    return (b.completed_at ?? b.created_at).localeCompare(a.completed_at ?? a.created_at) || b.id - a.id
  })
}

export function openRequests(list: readonly Request[]): Request[] {
  return sortInbox(list).filter((r) => !isClosed(r.status))
}

// ---------------------------------------------------------------------------------------------
// Days (UTC calendar days, like the backend)

/** `YYYY-MM-DD` of an RFC 3339 instant, in UTC. */
export function utcDay(rfc3339: string): string {
  const d = new Date(rfc3339)
  return Number.isNaN(d.getTime()) ? rfc3339.slice(0, 10) : d.toISOString().slice(0, 10)
}

/** A sentence from a backend phrase: `the first period ended…` → `The first period ended….` */
export function sentence(phrase: string): string {
  const t = phrase.trim()
  if (!t) return t
  const s = t[0].toUpperCase() + t.slice(1)
  return /[.!?]$/.test(s) ? s : `${s}.`
}

export function todayUtc(now = new Date()): string {
  return now.toISOString().slice(0, 10)
}

// ---------------------------------------------------------------------------------------------
// New-request form

export interface NewRequestForm {
  kind: string
  email: string
  regime: string
  /** `YYYY-MM-DD` */
  received: string
}

export type NewRequestErrors = Partial<Record<keyof NewRequestForm, string>>

export function validateNewRequest(f: NewRequestForm, today: string): NewRequestErrors {
  const e: NewRequestErrors = {}
  if (!KINDS.some((k) => k.value === f.kind)) e.kind = 'Choose access or erasure.'
  const email = f.email.trim()
  if (!email) e.email = 'Enter the email address the request is about.'
  else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) e.email = 'That is not an email address.'
  if (!REGIMES.some((r) => r.value === f.regime)) e.regime = 'Choose the law that applies.'
  if (!/^\d{4}-\d{2}-\d{2}$/.test(f.received)) e.received = 'Enter the date the request was received.'
  else if (f.received > today) e.received = 'The received date is in the future.'
  return e
}

// ---------------------------------------------------------------------------------------------
// Erasure plan

export interface PlanGroups {
  erase: PlanItem[]
  retain: PlanItem[]
  blocked: PlanItem[]
  /** Any other action the backend may add later, shown as-is. */
  other: PlanItem[]
}

export function groupPlan(plan: Pick<Plan, 'items'>): PlanGroups {
  const g: PlanGroups = { erase: [], retain: [], blocked: [], other: [] }
  for (const item of plan.items) {
    if (item.action === 'erase' || item.action === 'retain' || item.action === 'blocked') g[item.action].push(item)
    else g.other.push(item)
  }
  return g
}

/** What stands between the plan and execution, or null when it may run. */
export function planObstacle(plan: Plan): string | null {
  if (plan.blocked) return 'Resolve the blocked items first, then review the plan again.'
  return null
}

/** `local:profile` → "Profile in Privacy Desk"; `stripe:invoice:in_1` → "Stripe invoice in_1". */
export function targetLabel(target: string): string {
  const parts = target.split(':')
  if (parts[0] === 'local') {
    const what = parts.slice(1).join(':').replace(/_/g, ' ')
    return `${what ? what[0].toUpperCase() + what.slice(1) : 'Local data'} in Privacy Desk`
  }
  if (parts[0] === 'processor' && parts.length >= 3) return `Processor ${parts[1]}: ${parts.slice(2).join(':')}`
  if (parts.length >= 3) {
    const source = parts[0] === 'stripe' ? 'Stripe' : parts[0]
    return `${source} ${parts[1].replace(/_/g, ' ')} ${parts.slice(2).join(':')}`
  }
  return target
}

/** What the Stripe side of an access package (`package`) or an erasure plan (`plan`) means. */
export function stripeNote(stripe: string, what: 'package' | 'plan' = 'package'): string | null {
  switch (stripe) {
    case 'offline':
      return what === 'plan'
        ? 'Stripe could not be reached: the customer cannot be deleted there until it can.'
        : 'Stripe could not be reached: this covers local data only.'
    case 'not_configured':
      return what === 'plan'
        ? 'No Stripe API key is stored: Privacy Desk cannot check or delete anything at Stripe (see the Stripe items below).'
        : 'No Stripe API key is stored: this covers local data only.'
    case 'none':
      return 'No Stripe customer is known for this subject.'
    default:
      return null
  }
}

/** One entry of `Plan.changed` (`target: before → now`, `—` for absent) in words. */
export function changeLabel(change: string): string {
  const at = change.indexOf(': ')
  if (at < 0) return change
  const [before, now] = change.slice(at + 2).split(' → ')
  const target = targetLabel(change.slice(0, at))
  if (before === '—') return `${target}: new (${now})`
  if (now === '—') return `${target}: no longer in the plan (was ${before})`
  return `${target}: ${before} → ${now}`
}

/** Says that Stripe's answer held objects of other customers, which were left out. */
export function foreignNote(n: number): string | null {
  if (n <= 0) return null
  const what = n === 1 ? '1 object' : `${n} objects`
  return `Stripe returned ${what} belonging to other customers; ${n === 1 ? 'it was' : 'they were'} left out (their ids are in the log).`
}

export function progressPercent(p: { done: number; total: number } | null): number {
  if (!p || p.total <= 0) return 0
  return Math.max(0, Math.min(100, Math.round((p.done / p.total) * 100)))
}

// ---------------------------------------------------------------------------------------------
// The request page: the due step (which step is due, and why, comes from Rust:
// requests/steps.rs), the reasons the page asks for, the steps' notes

/** Whether the page loads the erasure plan by itself: the due step acts on it. */
export function planNeeded(key: StepKey): boolean {
  return key === 'run_erasure' || key === 'resolve_blocker'
}

/** The ways a request is closed before its due step, offered in the close dialog. */
export const CLOSE_REASONS = [
  { value: 'answered_outside', label: 'Answered outside Privacy Desk' },
  { value: 'withdrawn', label: 'Withdrawn by the person' },
  { value: 'other', label: 'Another reason' },
] as const

export type CloseReason = (typeof CLOSE_REASONS)[number]['value']

/** The reason to send for a choice of `CLOSE_REASONS` (`other`: the words typed), or null while there is none. */
export function closeReasonText(choice: CloseReason | '', other: string): string | null {
  if (choice === 'other') return other.trim() || null
  return CLOSE_REASONS.find((r) => r.value === choice)?.label ?? null
}

function detailText(details: Record<string, unknown> | null | undefined, key: string): string | null {
  const v = details?.[key]
  return typeof v === 'string' && v.trim() ? v.trim() : null
}

/** What a step of the request's trail recorded in words (a reason, a note), or null. */
export function stepNote(e: Pick<AuditEntry, 'action' | 'details'>): string | null {
  const reason = detailText(e.details, 'reason')
  const note = detailText(e.details, 'note')
  switch (e.action) {
    case 'request.completed':
      if (!reason) return null
      return e.details?.closed_early === true ? `Closed early: ${reason}` : reason
    case 'access.identity_override':
      return reason ? `Built without a verified identity: ${reason}` : null
    case 'erasure.blocker_resolved': {
      const target = detailText(e.details, 'target')
      const what = target ? targetLabel(target) : 'Blocked item'
      return note ? `${what} resolved at Stripe: ${note}` : `${what} resolved at Stripe`
    }
    case 'access.withheld':
    case 'access.unwithheld':
    case 'access.released':
      return reviewStepNote(e)
    default:
      return reason ?? note
  }
}

// ---------------------------------------------------------------------------------------------
// Financial-record retention (Settings)

/** Whole years between 1 and 30, as the backend accepts. */
export function parseRetentionYears(text: string): { ok: true; years: number } | { ok: false; error: string } {
  const t = text.trim()
  if (!/^\d+$/.test(t)) return { ok: false, error: 'Enter a whole number of years.' }
  const years = Number(t)
  if (years < 1 || years > 30) return { ok: false, error: 'Between 1 and 30 years.' }
  return { ok: true, years }
}
