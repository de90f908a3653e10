// The "Add Stripe" onboarding wizard: steps, what each Next does, and the wait for the first
// verified event. Pure state transitions plus two async helpers that take the backend.

import { errorMessage, toBackendError, type Backend } from './backend'
import { validateApiKey, validateBaseUrl } from './stripeApi'
import type { Check, KeySet, Processor, Registration } from './types'

export type StepId = 'choose' | 'scope' | 'restricted_key' | 'webhook' | 'secret' | 'waiting'

export const STEPS: readonly { id: StepId; title: string }[] = [
  { id: 'choose', title: 'Choose the processor' },
  { id: 'scope', title: 'What Stripe processes' },
  { id: 'restricted_key', title: 'Restricted API key' },
  { id: 'webhook', title: 'Webhook endpoint' },
  { id: 'secret', title: 'Signing secret' },
  { id: 'waiting', title: 'Test event' },
]

export type Connection = 'idle' | 'waiting' | 'connected'

export interface WizardState {
  step: StepId
  /** Created when the user reaches the webhook step (its URL is needed there). */
  processor: Processor | null
  /** Optional display name for the processor ('' = "Stripe"). */
  name: string
  /** The signing secret field, as typed. */
  secret: string
  secretError: string | null
  /** The last failed backend call, for a banner. */
  error: string | null
  connection: Connection
  /** True after the user finished (the screen closes the wizard). */
  done: boolean
  /** The API key field (step 3), as typed; cleared once the key is stored. */
  key: string
  keyError: string | null
  /** The stored key, after "Check key". */
  keySet: KeySet | null
  /** The permission check of the stored key. */
  keyCheck: Check | null
  /** The public base URL field of the webhook step ('' = the running tunnel's). */
  baseUrl: string
  baseUrlError: string | null
  /** The running tunnel's public URL, if any (the screen asks the dashboard). */
  tunnelUrl: string | null
  /** Set when the endpoint was registered at Stripe automatically: the secret step is skipped. */
  registration: Registration | null
  registrationError: string | null
}

export function initialState(resume: Processor | null = null): WizardState {
  return {
    // Resuming an existing processor starts where its URL is shown.
    step: resume ? 'webhook' : 'choose',
    processor: resume,
    name: resume?.name ?? '',
    secret: '',
    secretError: null,
    error: null,
    connection: resume?.status === 'interconnected' ? 'connected' : 'idle',
    done: false,
    key: '',
    keyError: null,
    keySet: null,
    keyCheck: null,
    baseUrl: '',
    baseUrlError: null,
    tunnelUrl: null,
    registration: null,
    registrationError: null,
  }
}

export function stepIndex(step: StepId): number {
  return STEPS.findIndex((s) => s.id === step)
}

/** The label of the primary button (`#wizard-next`) on each step. */
export function nextLabel(state: WizardState): string {
  switch (state.step) {
    case 'restricted_key':
      return state.keySet ? 'Next' : 'Skip for now'
    case 'secret':
      return 'Save secret'
    case 'waiting':
      return 'Done'
    default:
      return 'Next'
  }
}

/** Whether the primary button is enabled (a busy call is tracked by the screen). */
export function canAdvance(state: WizardState): boolean {
  switch (state.step) {
    case 'webhook':
      return state.processor?.webhook_url != null
    case 'secret':
      return state.secret.trim() !== ''
    case 'waiting':
      return state.connection === 'connected'
    default:
      return true
  }
}

export function canGoBack(state: WizardState): boolean {
  // Once the secret is saved, going back would only invite saving it twice.
  return stepIndex(state.step) > 0 && state.step !== 'waiting'
}

export function back(state: WizardState): WizardState {
  if (!canGoBack(state)) return state
  return {
    ...state,
    step: STEPS[stepIndex(state.step) - 1].id,
    error: null,
    secretError: null,
    keyError: null,
    baseUrlError: null,
    registrationError: null,
  }
}

/** Steps passed over without being needed: the secret step after automatic registration. */
export function isSkipped(state: WizardState, step: StepId): boolean {
  return step === 'secret' && state.registration !== null && !state.registration.needs_signing_secret
}

/**
 * How the stepper marks a step: `todo` (its number), `done` (✓), `skipped` (–, with why), or
 * `attention` (!): passed, but what it is for did not happen — the key step left without a
 * stored key, or with a key whose permission check did not run.
 */
export type StepMark = 'todo' | 'done' | 'skipped' | 'attention'

export function stepMark(state: WizardState, step: StepId): StepMark {
  if (isSkipped(state, step)) return 'skipped'
  const passed = stepIndex(step) < stepIndex(state.step) || (step === 'waiting' && state.connection === 'connected')
  if (!passed) return 'todo'
  if (step === 'restricted_key') {
    if (state.keySet === null) return 'skipped'
    if (state.keyCheck === null) return 'attention'
  }
  return 'done'
}

/** What a skipped or unfinished step says beside its title in the stepper. */
export function stepNote(state: WizardState, step: StepId): string | null {
  switch (stepMark(state, step)) {
    case 'skipped':
      return step === 'restricted_key' ? 'skipped: add a key later' : 'not needed'
    case 'attention':
      return 'key stored, permissions not checked'
    default:
      return null
  }
}

/** The header's way out: nothing created yet → Cancel; connected → Close; otherwise Finish later. */
export function exitLabel(state: WizardState): string {
  if (!state.processor) return 'Cancel'
  return state.connection === 'connected' ? 'Close' : 'Finish later'
}

/** Creates the processor unless the wizard already has one. Failures land in `error`. */
async function ensureProcessor(s: WizardState, backend: Backend): Promise<WizardState> {
  if (s.processor) return s
  if (s.name.trim().length > 100) return { ...s, error: 'The name can be at most 100 characters.' }
  try {
    const processor = await backend.processorAddStripe(s.name.trim() || null)
    return { ...s, processor }
  } catch (e) {
    return { ...s, error: errorMessage(e) }
  }
}

/**
 * "Check key" on step 3: checks the key's shape, creates the processor if needed (the key is
 * stored per processor), stores the key (the backend tries it against Stripe), then probes
 * its permissions. Never rejects. The key field is cleared once the key is stored.
 */
export async function checkKey(state: WizardState, backend: Backend): Promise<WizardState> {
  let s: WizardState = { ...state, error: null, keyError: null }
  const v = validateApiKey(s.key)
  if (!v.ok) return { ...s, keyError: v.error }
  s = await ensureProcessor(s, backend)
  if (!s.processor) return s
  let keySet: KeySet
  try {
    keySet = await backend.stripeSetKey(s.processor.id, v.value)
  } catch (e) {
    const err = toBackendError(e)
    return err.code === 'invalid_input' ? { ...s, keyError: err.message } : { ...s, error: err.message }
  }
  s = { ...s, key: '', keySet, keyCheck: null }
  try {
    return { ...s, keyCheck: await backend.stripeCheck(s.processor!.id) }
  } catch (e) {
    return { ...s, error: `The key is stored, but its permissions could not be checked: ${errorMessage(e)}` }
  }
}

/** Where automatic registration would point Stripe: the typed base URL, else the tunnel's. */
export function registrationTarget(state: WizardState): string | null {
  const v = validateBaseUrl(state.baseUrl)
  if (!v.ok) return null
  return v.value ?? state.tunnelUrl
}

/** Whether "Register with Stripe automatically" is offered: a tunnel runs or a public URL is typed. */
export function canRegister(state: WizardState): boolean {
  return state.processor?.webhook_path != null && (state.tunnelUrl !== null || state.baseUrl.trim() !== '')
}

/**
 * "Register with Stripe automatically": creates (or updates) the endpoint at Stripe, which
 * stores the signing secret, so the wizard goes straight to the test event. On failure it
 * stays on the webhook step, where the manual path still works. Never rejects.
 */
export async function registerAutomatically(state: WizardState, backend: Backend): Promise<WizardState> {
  const s: WizardState = { ...state, error: null, baseUrlError: null, registrationError: null }
  if (!s.processor || !canRegister(s)) return s
  const v = validateBaseUrl(s.baseUrl)
  if (!v.ok) return { ...s, baseUrlError: v.error }
  try {
    // null = the running tunnel's URL, which the backend knows better than the screen.
    const registration = await backend.stripeRegisterWebhook(s.processor.id, v.value)
    if (registration.needs_signing_secret) {
      // Stripe created the endpoint but sent no secret: every delivery would be refused until
      // it is pasted, so the wizard asks for it instead of waiting.
      return { ...s, registration, secret: '', secretError: null, step: 'secret' }
    }
    return {
      ...s,
      registration,
      secret: '',
      secretError: null,
      step: 'waiting',
      connection: s.processor.status === 'interconnected' ? 'connected' : 'waiting',
    }
  } catch (e) {
    const err = toBackendError(e)
    return err.code === 'invalid_input' && /url/i.test(err.message) && v.value !== null
      ? { ...s, baseUrlError: err.message }
      : { ...s, registrationError: err.message }
  }
}

export type SecretCheck = { ok: true; value: string } | { ok: false; error: string }

/** A Stripe webhook signing secret: `whsec_` then more characters, no spaces (surrounding ones are trimmed). */
export function validateSigningSecret(raw: string): SecretCheck {
  const value = raw.trim()
  if (value === '') return { ok: false, error: 'Paste the signing secret from Stripe.' }
  if (value.startsWith('rk_') || value.startsWith('sk_')) {
    return {
      ok: false,
      error: 'That is an API key, not a signing secret. The signing secret starts with whsec_.',
    }
  }
  if (!value.startsWith('whsec_')) {
    return { ok: false, error: 'A Stripe signing secret starts with whsec_.' }
  }
  if (/\s/.test(value)) return { ok: false, error: 'The signing secret has no spaces or line breaks.' }
  if (value.length < 10) return { ok: false, error: 'That signing secret is too short: copy all of it.' }
  return { ok: true, value }
}

/**
 * The primary button: moves to the next step, doing the step's work on the way
 * (creating the processor before the webhook step, saving the secret before the waiting step).
 * Never rejects: failures land in `error` / `secretError` and the step stays.
 */
export async function advance(state: WizardState, backend: Backend): Promise<WizardState> {
  if (!canAdvance(state)) return state
  const s: WizardState = { ...state, error: null, secretError: null }
  switch (s.step) {
    case 'choose':
      if (s.name.trim().length > 100) return { ...s, error: 'The name can be at most 100 characters.' }
      return { ...s, step: 'scope' }
    case 'scope':
      return { ...s, step: 'restricted_key' }
    case 'restricted_key': {
      const withProcessor = await ensureProcessor({ ...s, key: '', keyError: null }, backend)
      return withProcessor.processor ? { ...withProcessor, step: 'webhook' } : withProcessor
    }
    case 'webhook':
      if (s.registration && !s.registration.needs_signing_secret) {
        return { ...s, step: 'waiting', connection: s.processor?.status === 'interconnected' ? 'connected' : 'waiting' }
      }
      return { ...s, step: 'secret', registrationError: null, baseUrlError: null }
    case 'secret': {
      const check = validateSigningSecret(s.secret)
      if (!check.ok) return { ...s, secretError: check.error }
      const processor = s.processor
      if (!processor) return { ...s, step: 'restricted_key', error: 'Create the processor first.' }
      try {
        await backend.processorSetSecret(processor.id, check.value)
      } catch (e) {
        const err = toBackendError(e)
        // The backend's own check of the secret belongs next to the field.
        return err.code === 'invalid_input' ? { ...s, secretError: err.message } : { ...s, error: err.message }
      }
      return {
        ...s,
        secret: '', // do not keep the secret in memory longer than needed
        step: 'waiting',
        connection: processor.status === 'interconnected' ? 'connected' : 'waiting',
      }
    }
    case 'waiting':
      return { ...s, done: true }
  }
}

/** Folds a fresh copy of the processor into the state: `waiting` turns `connected` once it is interconnected. */
export function withProcessor(state: WizardState, processor: Processor): WizardState {
  const connected = processor.status === 'interconnected'
  return {
    ...state,
    processor,
    connection: connected ? 'connected' : state.connection === 'idle' ? 'idle' : 'waiting',
  }
}

/** What `#wizard-status` says. It contains "Interconnected" exactly when the processor is. */
export function statusText(state: WizardState): string {
  switch (state.connection) {
    case 'connected':
      return 'Interconnected — Stripe events are arriving and being recorded.'
    case 'waiting':
      return 'Waiting for a test event from Stripe…'
    default:
      return 'Not connected yet.'
  }
}

export interface WatchOptions {
  /** How often to ask the backend, in ms. */
  intervalMs?: number
  onUpdate: (processor: Processor) => void
  onError?: (message: string) => void
}

/**
 * Watches the processor until it is interconnected: asks the backend every `intervalMs` and
 * right away when an `activity-changed` event arrives. Returns a function that stops watching.
 */
export function watchConnection(backend: Backend, id: number, opts: WatchOptions): () => void {
  let stopped = false
  let inFlight = false
  let unlisten: (() => void) | null = null

  const check = async () => {
    if (stopped || inFlight) return
    inFlight = true
    try {
      const p = await backend.processorShow(id)
      if (stopped) return
      opts.onUpdate(p)
      if (p.status === 'interconnected') stop()
    } catch (e) {
      if (!stopped) opts.onError?.(errorMessage(e))
    } finally {
      inFlight = false
    }
  }

  const timer = setInterval(check, opts.intervalMs ?? 2000)
  backend
    .onActivityChanged(() => void check())
    .then((un) => (stopped ? un() : (unlisten = un)))
    .catch(() => {
      /* polling alone still works */
    })
  void check()

  function stop() {
    if (stopped) return
    stopped = true
    clearInterval(timer)
    unlisten?.()
  }
  return stop
}

/** The Stripe CLI command that sends a test event. */
export const TEST_EVENT_COMMAND = 'stripe trigger customer.created'
