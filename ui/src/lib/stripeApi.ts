// The Stripe API and tunnel, as the screens present them: checking an API key before it is
// sent, naming permissions and workflows, the public base URL, tunnel errors, catch-up counts
// and backfill progress. Pure functions; the calls themselves are in backend.ts.

import { formatCount, formatDateTime, humanise } from './format'
import type { BackfillProgress, BackfillReport, CatchUpStatus, Check, TunnelStatus } from './types'

// ---------------------------------------------------------------------------------------------
// API key

export type KeyKind = 'restricted' | 'secret'

export type KeyValidation =
  | { ok: true; value: string; kind: KeyKind; livemode: boolean; warning: string | null }
  | { ok: false; error: string }

/** Shown, prominently, for a full secret key. */
export const SECRET_KEY_WARNING =
  'This is a full secret key (sk_…): it can do anything on your Stripe account, including moving money. ' +
  'Privacy Desk only needs to read a few things. Create a restricted key (rk_…) with the permissions listed below and use that instead.'

/**
 * Checks the shape of a Stripe API key before it leaves the screen (the backend checks again,
 * then tries it against Stripe). Messages never quote the key.
 */
export function validateApiKey(raw: string): KeyValidation {
  const value = raw.trim()
  if (value === '') return { ok: false, error: 'Paste the restricted key from Stripe (it starts with rk_).' }
  if (value.startsWith('whsec_')) {
    return { ok: false, error: 'That is a webhook signing secret, not an API key. An API key starts with rk_ (restricted) or sk_ (secret).' }
  }
  if (value.startsWith('pk_')) {
    return { ok: false, error: 'That is a publishable key: it cannot read your data. Create a restricted key (rk_…) in the Stripe Dashboard under Developers → API keys.' }
  }
  let kind: KeyKind
  if (value.startsWith('rk_')) kind = 'restricted'
  else if (value.startsWith('sk_')) kind = 'secret'
  else {
    return { ok: false, error: 'That is not a Stripe API key: create a restricted key (rk_…) in the Stripe Dashboard under Developers → API keys.' }
  }
  const mode = value.slice(3)
  let livemode: boolean
  if (mode.startsWith('live_')) livemode = true
  else if (mode.startsWith('test_')) livemode = false
  else return { ok: false, error: 'That key is neither a live (…_live_…) nor a test (…_test_…) key: copy all of it.' }
  if (/\s/.test(value)) return { ok: false, error: 'An API key has no spaces or line breaks: paste it again.' }
  if (!/^[A-Za-z0-9_]+$/.test(value)) return { ok: false, error: 'That key is malformed: paste it again, without quotes.' }
  if (value.length < 16) return { ok: false, error: 'That key is too short: copy all of it.' }
  return { ok: true, value, kind, livemode, warning: kind === 'secret' ? SECRET_KEY_WARNING : null }
}

/** "Restricted key · test mode" */
export function keyDescription(kind: string, livemode: boolean): string {
  const k = kind === 'restricted' ? 'Restricted key' : kind === 'secret' ? 'Full secret key' : humanise(kind)
  return `${k} · ${livemode ? 'live mode' : 'test mode'}`
}

// ---------------------------------------------------------------------------------------------
// Permissions and workflows (names from `stripe_check`)

export const PERMISSION_LABELS: Record<string, string> = {
  customers_read: 'Customers — read',
  customers_write: 'Customers — write',
  charges_read: 'Charges — read',
  payment_intents_read: 'PaymentIntents — read',
  invoices_read: 'Invoices — read',
  subscriptions_read: 'Subscriptions — read',
  events_read: 'Events — read',
  webhook_endpoints_write: 'Webhook endpoints — write',
}

export const WORKFLOW_LABELS: Record<string, string> = {
  webhook_registration: 'Register the webhook endpoint automatically',
  catch_up: 'Catch up on events missed while offline',
  thin_events: 'Fetch the full content of thin events',
  customer_lookup: 'Look up customers first seen in other events',
  backfill_customers: 'Import existing customers',
  backfill_payments: 'Import past charges, payments, invoices and subscriptions',
  erasure_at_stripe: 'Erase customers at Stripe',
}

export const permissionLabel = (name: string) => PERMISSION_LABELS[name] ?? humanise(name)
export const workflowLabel = (name: string) => WORKFLOW_LABELS[name] ?? humanise(name)

export interface CheckSummary {
  granted: string[]
  missing: string[]
  enabled: string[]
  disabled: string[]
  /** One sentence for a status line. */
  text: string
}

export function summariseCheck(check: Check): CheckSummary {
  const granted = check.permissions.filter((p) => p.granted).map((p) => p.name)
  const missing = check.permissions.filter((p) => !p.granted).map((p) => p.name)
  const enabled = check.workflows.filter((w) => w.enabled).map((w) => w.name)
  const disabled = check.workflows.filter((w) => !w.enabled).map((w) => w.name)
  const text =
    missing.length === 0
      ? `The key has every permission Privacy Desk uses: all ${check.workflows.length} workflows are enabled.`
      : `The key lacks ${missing.length} of ${check.permissions.length} permissions: ` +
        `${enabled.length} of ${check.workflows.length} workflows are enabled.`
  return { granted, missing, enabled, disabled, text }
}

// ---------------------------------------------------------------------------------------------
// Public base URL (for webhook registration)

export type BaseUrlCheck = { ok: true; value: string | null } | { ok: false; error: string }

/** The public URL of this computer, as typed: empty → `null` (use the tunnel). Trailing slashes go. */
export function validateBaseUrl(raw: string): BaseUrlCheck {
  const value = raw.trim().replace(/\/+$/, '')
  if (value === '') return { ok: true, value: null }
  let u: URL
  try {
    u = new URL(value)
  } catch {
    return { ok: false, error: 'Enter an absolute URL, e.g. https://desk.example.com' }
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return { ok: false, error: 'The public URL must start with https://' }
  if (u.search || u.hash) return { ok: false, error: 'The public URL has no query (?…) or fragment (#…).' }
  if (/^(localhost|127\.|\[::1\]|0\.0\.0\.0)/.test(u.hostname)) {
    return { ok: false, error: 'Stripe cannot reach this computer at a local address: enter its public URL, or start the tunnel.' }
  }
  return { ok: true, value }
}

// ---------------------------------------------------------------------------------------------
// Tunnel

export type TunnelProblem = 'wrong_token' | 'no_token' | 'offline' | 'other'

/** What went wrong with the tunnel, from the backend's message. */
export function tunnelProblem(message: string): TunnelProblem {
  const m = message.toLowerCase()
  if (m.includes('no ngrok authtoken')) return 'no_token'
  if (m.includes('authtoken') || m.includes('auth token')) return 'wrong_token'
  if (m.includes('cannot reach ngrok') || m.includes('offline') || m.includes('network') || m.includes('in time')) return 'offline'
  return 'other'
}

/** The advice shown above the backend's own message. */
export function tunnelAdvice(problem: TunnelProblem): string {
  switch (problem) {
    case 'wrong_token':
      return 'ngrok rejected the authtoken. Copy the right one from dashboard.ngrok.com → Your Authtoken and save it below.'
    case 'no_token':
      return 'No ngrok authtoken is stored yet. Paste yours below (dashboard.ngrok.com → Your Authtoken) and save it.'
    case 'offline':
      return 'Privacy Desk cannot reach ngrok: this computer seems to be offline. Check the network connection and try again.'
    default:
      return 'The tunnel could not start.'
  }
}

/** Checks the shape of an ngrok authtoken (mirrors the backend; the message never quotes it). */
export function validateTunnelToken(raw: string): { ok: true; value: string } | { ok: false; error: string } {
  const value = raw.trim()
  if (value === '') return { ok: false, error: 'Paste your ngrok authtoken.' }
  if (value.length < 20 || value.length > 200 || !/^[A-Za-z0-9_-]+$/.test(value)) {
    return { ok: false, error: 'That is not an ngrok authtoken: copy it from dashboard.ngrok.com → Your Authtoken.' }
  }
  return { ok: true, value }
}

/** The running tunnel's public URL, if any. */
export function tunnelUrl(t: TunnelStatus | null | undefined): string | null {
  return t && t.state === 'on' && t.public_url ? t.public_url : null
}

// ---------------------------------------------------------------------------------------------
// Catch-up

/** "Fetched 12 · 3 new · 9 duplicates" or "Never run". */
export function catchUpCounts(s: Pick<CatchUpStatus, 'fetched' | 'new' | 'duplicates'>): string {
  return `${formatCount(s.fetched)} fetched · ${formatCount(s.new)} new · ${formatCount(s.duplicates)} ${s.duplicates === 1 ? 'duplicate' : 'duplicates'}`
}

export function catchUpText(s: CatchUpStatus | null | undefined): string {
  if (!s || !s.last_run_at) return 'No catch-up yet.'
  return `Last catch-up ${formatDateTime(s.last_run_at)}: ${catchUpCounts(s)}`
}

// ---------------------------------------------------------------------------------------------
// Backfill

export const BACKFILL_RESOURCES = ['customers', 'charges', 'payment_intents', 'invoices', 'subscriptions'] as const

export const RESOURCE_LABELS: Record<string, string> = {
  customers: 'Customers',
  charges: 'Charges',
  payment_intents: 'Payment intents',
  invoices: 'Invoices',
  subscriptions: 'Subscriptions (all statuses)',
}

export const resourceLabel = (r: string) => RESOURCE_LABELS[r] ?? humanise(r)

/** The selection in Stripe's order; unknown names dropped, duplicates once. */
export function orderedResources(selected: Iterable<string>): string[] {
  const set = new Set(selected)
  return BACKFILL_RESOURCES.filter((r) => set.has(r))
}

export interface ResourceProgress {
  resource: string
  imported: number
  pages: number
  done: boolean
  /** A progress event has arrived for it (it is being imported or finished). */
  started: boolean
}

export interface BackfillState {
  resources: ResourceProgress[]
}

export function startBackfill(resources: string[]): BackfillState {
  return { resources: resources.map((resource) => ({ resource, imported: 0, pages: 0, done: false, started: false })) }
}

/** Folds one `backfill-progress` event in. Counts never go backwards; unknown resources are ignored. */
export function applyProgress(state: BackfillState, p: BackfillProgress): BackfillState {
  if (!state.resources.some((r) => r.resource === p.resource)) return state
  return {
    resources: state.resources.map((r) =>
      r.resource === p.resource
        ? {
            ...r,
            imported: Math.max(r.imported, p.imported),
            pages: Math.max(r.pages, p.pages),
            done: r.done || p.done,
            started: true,
          }
        : r,
    ),
  }
}

/** Marks everything the final report says, so the bars end where the backend ended. */
export function applyReport(state: BackfillState, report: BackfillReport): BackfillState {
  let s = state
  for (const r of report.resources) {
    s = applyProgress(s, { resource: r.resource, imported: r.imported_total, pages: 0, done: r.done })
  }
  return s
}

export interface BackfillOverall {
  total: number
  done: number
  imported: number
  /** The resource being imported now, if any. */
  current: string | null
  /** 0…1: finished resources, with half a step for the one in progress. */
  fraction: number
  /** For `aria-valuetext` and the visible line. */
  text: string
}

export function overallProgress(state: BackfillState): BackfillOverall {
  const total = state.resources.length
  const done = state.resources.filter((r) => r.done).length
  const imported = state.resources.reduce((n, r) => n + r.imported, 0)
  const current = state.resources.find((r) => r.started && !r.done)?.resource ?? null
  const fraction = total === 0 ? 0 : Math.min(1, (done + (current ? 0.5 : 0)) / total)
  const text =
    total === 0
      ? 'Nothing selected.'
      : done === total
        ? `Done: ${formatCount(imported)} objects imported from ${total} ${total === 1 ? 'resource' : 'resources'}.`
        : `${done} of ${total} ${total === 1 ? 'resource' : 'resources'} done, ${formatCount(imported)} objects imported` +
          (current ? ` — importing ${resourceLabel(current).toLowerCase()}…` : '…')
  return { total, done, imported, current, fraction, text }
}
