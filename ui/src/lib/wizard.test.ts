import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { processorFixtures, stripeAccount, stripeProcessor } from '../test/fixtures'
import { createMockBackend as mockBackend } from '../test/mockIpc'
import type { Processor } from './types'
import {
  STEPS,
  advance,
  back,
  canAdvance,
  canGoBack,
  canRegister,
  checkKey,
  exitLabel,
  initialState,
  isSkipped,
  nextLabel,
  registerAutomatically,
  registrationTarget,
  statusText,
  stepMark,
  stepNote,
  validateSigningSecret,
  watchConnection,
  withProcessor,
  type WizardState,
} from './wizard'

/** Joined at run time: no string in the source looks like a real Stripe key or secret. */
const fake = (...parts: string[]) => parts.join('_')

const SECRET = fake('whsec', '0123456789abcdef')

/** A backend with the processors in `list` and a Stripe account (`account` of the result). */
function createMockBackend(list: Processor[] = []) {
  const processors = processorFixtures(list)
  const stripe = stripeAccount()
  return Object.assign(mockBackend({ ...processors, ...stripe.fixtures }), { account: stripe.account, processors: processors.list })
}

/** Runs the wizard from the start up to (and onto) `step`. */
async function walkTo(step: WizardState['step'], backend = createMockBackend()) {
  let s = initialState()
  while (s.step !== step) {
    if (s.step === 'secret') s = { ...s, secret: SECRET }
    const before = s.step
    s = await advance(s, backend)
    if (s.step === before) throw new Error(`stuck on ${before}: ${s.error ?? s.secretError}`)
  }
  return { s, backend }
}

describe('validateSigningSecret', () => {
  it('accepts a whsec_ secret and trims pasted whitespace', () => {
    expect(validateSigningSecret(SECRET)).toEqual({ ok: true, value: SECRET })
    expect(validateSigningSecret(`  ${SECRET}\n`)).toEqual({ ok: true, value: SECRET })
  })

  it.each([
    ['', /Paste the signing secret/],
    ['   ', /Paste the signing secret/],
    [fake('rk', 'live', 'abcdef123456'), /API key, not a signing secret/],
    ['sk_test_abcdef123456', /API key, not a signing secret/],
    ['secret_abcdef', /starts with whsec_/],
    ['WHSEC_abcdef123', /starts with whsec_/],
    [fake('whsec', 'abc') + ' def123', /no spaces/],
    [fake('whsec', 'ab'), /too short/],
  ])('rejects %j', (raw, message) => {
    const r = validateSigningSecret(raw)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error).toMatch(message)
  })
})

describe('step transitions', () => {
  it('goes through the six steps in order', async () => {
    expect(STEPS.map((s) => s.id)).toEqual(['choose', 'scope', 'restricted_key', 'webhook', 'secret', 'waiting'])
    const backend = createMockBackend()
    let s = initialState()
    const seen = [s.step]
    for (let i = 0; i < 5; i++) {
      if (s.step === 'secret') s = { ...s, secret: SECRET }
      s = await advance(s, backend)
      seen.push(s.step)
    }
    expect(seen).toEqual(['choose', 'scope', 'restricted_key', 'webhook', 'secret', 'waiting'])
    expect(s.connection).toBe('waiting')
  })

  it('labels the primary button for each step', async () => {
    const labels: string[] = []
    const backend = createMockBackend()
    let s = initialState()
    for (;;) {
      labels.push(nextLabel(s))
      if (s.step === 'waiting') break
      if (s.step === 'secret') s = { ...s, secret: SECRET }
      s = await advance(s, backend)
    }
    expect(labels).toEqual(['Next', 'Next', 'Skip for now', 'Next', 'Save secret', 'Done'])
  })

  it('creates the processor when leaving the restricted key step, once', async () => {
    const { s, backend } = await walkTo('webhook')
    expect(s.processor?.webhook_url).toMatch(/^http:\/\/127\.0\.0\.1:8787\/webhooks\/stripe\//)
    expect(backend.calls.filter(([m]) => m === 'processorAddStripe')).toEqual([['processorAddStripe', [null]]])

    // Back and forward again does not create a second processor.
    const again = await advance(back(s), backend)
    expect(again.step).toBe('webhook')
    expect(again.processor?.id).toBe(s.processor?.id)
    expect(backend.processors).toHaveLength(1)
  })

  it('passes the optional name', async () => {
    const backend = createMockBackend()
    let s = { ...initialState(), name: '  Stripe EU ' }
    for (let i = 0; i < 3; i++) s = await advance(s, backend)
    expect(backend.calls.find(([m]) => m === 'processorAddStripe')?.[1]).toEqual(['Stripe EU'])
    expect(s.processor?.name).toBe('Stripe EU')
  })

  it('stays on the step and shows the message when creating the processor fails', async () => {
    const { s: atKey, backend } = await walkTo('restricted_key')
    backend.failNext('processorAddStripe', { code: 'keychain', message: 'The OS keychain is locked.' })
    const s = await advance(atKey, backend)
    expect(s.step).toBe('restricted_key')
    expect(s.error).toBe('The OS keychain is locked.')
    // Trying again works and clears the message.
    const retried = await advance(s, backend)
    expect(retried.step).toBe('webhook')
    expect(retried.error).toBeNull()
  })

  it('cannot leave the secret step without a secret; a bad one stays local', async () => {
    const { s, backend } = await walkTo('secret')
    expect(canAdvance(s)).toBe(false)
    expect(await advance(s, backend)).toBe(s)

    const bad = await advance({ ...s, secret: fake('rk', 'live', '123456789') }, backend)
    expect(bad.step).toBe('secret')
    expect(bad.secretError).toMatch(/API key/)
    expect(backend.calls.some(([m]) => m === 'processorSetSecret')).toBe(false)
  })

  it('saves the trimmed secret for the created processor, then forgets it', async () => {
    const { s, backend } = await walkTo('secret')
    const next = await advance({ ...s, secret: `${SECRET}\n` }, backend)
    expect(backend.calls.find(([m]) => m === 'processorSetSecret')?.[1]).toEqual([s.processor!.id, SECRET])
    expect(next.step).toBe('waiting')
    expect(next.secret).toBe('')
  })

  it('shows the backend rejection of a secret at the field, other failures as a banner', async () => {
    const { s, backend } = await walkTo('secret')
    const typed = { ...s, secret: SECRET }
    backend.failNext('processorSetSecret', { code: 'invalid_input', message: 'that is not a Stripe signing secret' })
    const invalid = await advance(typed, backend)
    expect(invalid).toMatchObject({ step: 'secret', secretError: 'that is not a Stripe signing secret', error: null })

    backend.failNext('processorSetSecret', { code: 'keychain', message: 'The OS keychain refused.' })
    const failed = await advance(typed, backend)
    expect(failed).toMatchObject({ step: 'secret', secretError: null, error: 'The OS keychain refused.' })
    expect(failed.secret).toBe(SECRET) // kept so the user can retry
  })

  it('goes back until the secret is saved, not afterwards', async () => {
    const { s } = await walkTo('scope')
    expect(canGoBack(initialState())).toBe(false)
    expect(back(s).step).toBe('choose')
    const { s: waiting } = await walkTo('waiting')
    expect(canGoBack(waiting)).toBe(false)
    expect(back(waiting)).toBe(waiting)
  })

  it('resumes an existing processor at its webhook URL', () => {
    const s = initialState(stripeProcessor(7))
    expect(s.step).toBe('webhook')
    expect(s.processor?.id).toBe(7)
    expect(canAdvance(s)).toBe(true)
  })
})

describe('waiting → connected', () => {
  it('is waiting until the processor is interconnected, then says so', async () => {
    const { s, backend } = await walkTo('waiting')
    expect(s.connection).toBe('waiting')
    expect(canAdvance(s)).toBe(false)
    expect(statusText(s)).toMatch(/Waiting for a test event/)
    expect(statusText(s)).not.toMatch(/Interconnected/)

    const still = withProcessor(s, { ...s.processor!, status: 'awaiting_first_event' })
    expect(still.connection).toBe('waiting')

    const done = withProcessor(s, { ...s.processor!, status: 'interconnected', last_event_at: '2026-03-01T12:00:00Z' })
    expect(done.connection).toBe('connected')
    expect(statusText(done)).toMatch(/^Interconnected/)
    expect(canAdvance(done)).toBe(true)
    expect(nextLabel(done)).toBe('Done')
    expect((await advance(done, backend)).done).toBe(true)
  })

  it('a processor that is already interconnected skips the wait', async () => {
    const { s, backend } = await walkTo('secret')
    backend.processors[0].status = 'interconnected'
    const next = await advance({ ...s, processor: backend.processors[0], secret: SECRET }, backend)
    expect(next.connection).toBe('connected')
  })
})

describe('watchConnection', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('polls until interconnected, then stops', async () => {
    const backend = createMockBackend([stripeProcessor(1)])
    const updates: string[] = []
    const stop = watchConnection(backend, 1, { intervalMs: 1000, onUpdate: (p) => updates.push(p.status) })

    await vi.advanceTimersByTimeAsync(0)
    expect(updates).toEqual(['awaiting_first_event'])
    await vi.advanceTimersByTimeAsync(2000)
    expect(updates).toHaveLength(3)

    backend.processors[0].status = 'interconnected'
    await vi.advanceTimersByTimeAsync(1000)
    expect(updates.at(-1)).toBe('interconnected')

    const polls = backend.calls.filter(([m]) => m === 'processorShow').length
    await vi.advanceTimersByTimeAsync(5000)
    expect(backend.calls.filter(([m]) => m === 'processorShow').length).toBe(polls)
    expect(backend.listenerCount()).toBe(0)
    stop()
  })

  it('checks at once when an activity-changed event arrives', async () => {
    const backend = createMockBackend([stripeProcessor(1)])
    const updates: string[] = []
    const stop = watchConnection(backend, 1, { intervalMs: 60_000, onUpdate: (p) => updates.push(p.status) })
    await vi.advanceTimersByTimeAsync(0)
    expect(backend.listenerCount()).toBe(1)

    backend.processors[0].status = 'interconnected'
    backend.emit('activity-changed', 1)
    await vi.advanceTimersByTimeAsync(0)
    expect(updates).toEqual(['awaiting_first_event', 'interconnected'])
    stop()
  })

  it('reports errors and keeps polling', async () => {
    const backend = createMockBackend([stripeProcessor(1)])
    const errors: string[] = []
    backend.failNext('processorShow', { code: 'database', message: 'database is locked' })
    const stop = watchConnection(backend, 1, { intervalMs: 1000, onUpdate: () => {}, onError: (m) => errors.push(m) })
    await vi.advanceTimersByTimeAsync(0)
    expect(errors).toEqual(['database is locked'])
    backend.processors[0].status = 'interconnected'
    await vi.advanceTimersByTimeAsync(1000)
    expect(backend.listenerCount()).toBe(0)
    stop()
  })

  it('stops when asked, including the event listener', async () => {
    const backend = createMockBackend([stripeProcessor(1)])
    const stop = watchConnection(backend, 1, { intervalMs: 1000, onUpdate: () => {} })
    await vi.advanceTimersByTimeAsync(0)
    stop()
    const polls = backend.calls.filter(([m]) => m === 'processorShow').length
    await vi.advanceTimersByTimeAsync(5000)
    expect(backend.calls.filter(([m]) => m === 'processorShow').length).toBe(polls)
    expect(backend.listenerCount()).toBe(0)
  })
})

describe('restricted key (step 3)', () => {
  const KEY = 'rk_test_0123456789abcdef'

  it('rejects a malformed key locally, without creating anything', async () => {
    const { s, backend } = await walkTo('restricted_key')
    const r = await checkKey({ ...s, key: fake('whsec', '0123456789') }, backend)
    expect(r.keyError).toMatch(/signing secret, not an API key/)
    expect(r.processor).toBeNull()
    expect(backend.calls.some(([m]) => m === 'processorAddStripe' || m === 'stripeSetKey')).toBe(false)
  })

  it('creates the processor, stores the key, checks it and forgets the field', async () => {
    const { s, backend } = await walkTo('restricted_key')
    const r = await checkKey({ ...s, key: ` ${KEY} ` }, backend)
    expect(r.processor?.id).toBe(1)
    expect(r.key).toBe('')
    expect(r.keySet).toMatchObject({ key_kind: 'restricted', livemode: false, warning: null })
    expect(r.keyCheck?.workflows.every((w) => w.enabled)).toBe(true)
    expect(backend.calls.find(([m]) => m === 'stripeSetKey')?.[1]).toEqual([1, KEY])
    expect(nextLabel(r)).toBe('Next')
    // Checking a second key reuses the processor.
    const again = await checkKey({ ...r, key: 'sk_test_0123456789abcdef' }, backend)
    expect(backend.processors).toHaveLength(1)
    expect(again.keySet?.warning).toMatch(/full secret key/)
    const next = await advance(again, backend)
    expect(next.step).toBe('webhook')
    expect(backend.calls.filter(([m]) => m === 'processorAddStripe')).toHaveLength(1)
  })

  it('puts a rejected key at the field and other failures in the banner', async () => {
    const { s, backend } = await walkTo('restricted_key')
    backend.failNext('stripeSetKey', { code: 'invalid_input', message: 'Stripe rejected the API key' })
    const r = await checkKey({ ...s, key: KEY }, backend)
    expect(r.keyError).toBe('Stripe rejected the API key')
    expect(r.keySet).toBeNull()
    backend.failNext('stripeSetKey', { code: 'unavailable', message: 'cannot reach Stripe' })
    const r2 = await checkKey({ ...r, key: KEY }, backend)
    expect(r2.error).toBe('cannot reach Stripe')
    expect(r2.keyError).toBeNull()
  })

  it('keeps the stored key when only the permission check fails', async () => {
    const { s, backend } = await walkTo('restricted_key')
    backend.failNext('stripeCheck', { code: 'unavailable', message: 'Stripe is down' })
    const r = await checkKey({ ...s, key: KEY }, backend)
    expect(r.keySet?.stored).toBe(true)
    expect(r.keyCheck).toBeNull()
    expect(r.error).toMatch(/stored, but its permissions could not be checked: Stripe is down/)
  })
})

describe('webhook step: automatic registration or the manual path', () => {
  it('offers registration only with a running tunnel or a typed public URL', async () => {
    const { s } = await walkTo('webhook')
    expect(canRegister(s)).toBe(false)
    expect(registrationTarget(s)).toBeNull()
    expect(canRegister({ ...s, tunnelUrl: 'https://t.ngrok.app' })).toBe(true)
    expect(registrationTarget({ ...s, tunnelUrl: 'https://t.ngrok.app' })).toBe('https://t.ngrok.app')
    expect(canRegister({ ...s, baseUrl: 'https://desk.example.com' })).toBe(true)
    // A typed URL wins over the tunnel.
    expect(registrationTarget({ ...s, tunnelUrl: 'https://t.ngrok.app', baseUrl: 'https://desk.example.com/' })).toBe('https://desk.example.com')
  })

  it('without registration: webhook → secret → waiting, as before', async () => {
    const { s, backend } = await walkTo('webhook')
    const next = await advance(s, backend)
    expect(next.step).toBe('secret')
    expect(isSkipped(next, 'secret')).toBe(false)
  })

  it('with the tunnel: registers with a null base URL and goes straight to waiting', async () => {
    const { s, backend } = await walkTo('webhook')
    backend.account.keys[1] = 'rk_test_0123456789abcdef'
    backend.account.tunnel = true
    const r = await registerAutomatically({ ...s, tunnelUrl: 'https://t.ngrok.app' }, backend)
    expect(backend.calls.find(([m]) => m === 'stripeRegisterWebhook')?.[1]).toEqual([1, null])
    expect(r.step).toBe('waiting')
    expect(r.connection).toBe('waiting')
    expect(r.registration).toMatchObject({ action: 'created', signing_secret_stored: true })
    expect(isSkipped(r, 'secret')).toBe(true)
    expect(canGoBack(r)).toBe(false)
    expect(backend.calls.some(([m]) => m === 'processorSetSecret')).toBe(false)
  })

  it('an endpoint created without its secret leads to the secret step, not to waiting', async () => {
    const { s, backend } = await walkTo('webhook')
    backend.account.keys[1] = 'rk_test_0123456789abcdef'
    backend.account.tunnel = true
    const real = backend.stripeRegisterWebhook.bind(backend)
    backend.stripeRegisterWebhook = async (id, url) => ({
      ...(await real(id, url)),
      signing_secret_stored: false,
      needs_signing_secret: true,
    })
    const r = await registerAutomatically({ ...s, tunnelUrl: 'https://t.ngrok.app' }, backend)
    expect(r.step).toBe('secret')
    expect(isSkipped(r, 'secret')).toBe(false)
    const saved = await advance({ ...r, secret: SECRET }, backend)
    expect(saved.step).toBe('waiting')
    expect(backend.calls.some(([m]) => m === 'processorSetSecret')).toBe(true)
  })

  it('with a typed URL: sends it trimmed; a bad one stays local', async () => {
    const { s, backend } = await walkTo('webhook')
    backend.account.keys[1] = 'rk_test_0123456789abcdef'
    const bad = await registerAutomatically({ ...s, baseUrl: 'desk.example.com' }, backend)
    expect(bad.baseUrlError).toMatch(/absolute URL/)
    expect(bad.step).toBe('webhook')
    expect(backend.calls.some(([m]) => m === 'stripeRegisterWebhook')).toBe(false)
    const ok = await registerAutomatically({ ...s, baseUrl: ' https://desk.example.com/ ' }, backend)
    expect(backend.calls.find(([m]) => m === 'stripeRegisterWebhook')?.[1]).toEqual([1, 'https://desk.example.com'])
    expect(ok.step).toBe('waiting')
  })

  it('a failed registration stays on the webhook step; Next still leads to the manual secret', async () => {
    const { s, backend } = await walkTo('webhook')
    // No key stored: the backend refuses.
    const r = await registerAutomatically({ ...s, baseUrl: 'https://desk.example.com' }, backend)
    expect(r.step).toBe('webhook')
    expect(r.registrationError).toMatch(/no Stripe API key/)
    expect(r.registration).toBeNull()
    const next = await advance(r, backend)
    expect(next.step).toBe('secret')
    expect(next.registrationError).toBeNull()
  })

  it('the tunnel stopped meanwhile: the backend message is shown', async () => {
    const { s, backend } = await walkTo('webhook')
    backend.account.keys[1] = 'rk_test_0123456789abcdef'
    const r = await registerAutomatically({ ...s, tunnelUrl: 'https://gone.ngrok.app' }, backend)
    expect(r.registrationError).toMatch(/start the tunnel first/)
  })

  it('does nothing when registration is not offered', async () => {
    const { s, backend } = await walkTo('webhook')
    expect(await registerAutomatically(s, backend)).toEqual({ ...s, error: null, baseUrlError: null, registrationError: null })
  })
})

describe('the stepper tells a skipped or unchecked key apart from a done step', () => {
  const at = (step: WizardState['step'], extra: Partial<WizardState> = {}): WizardState => ({
    ...initialState(),
    step,
    ...extra,
  })
  const keySet = { key_kind: 'restricted', livemode: false } as unknown as WizardState['keySet']
  const keyCheck = { permissions: [], workflows: [] } as unknown as WizardState['keyCheck']

  it('marks steps before the current one done, the rest by their number', () => {
    expect(stepMark(at('webhook'), 'scope')).toBe('done')
    expect(stepMark(at('webhook'), 'webhook')).toBe('todo')
    expect(stepMark(at('webhook'), 'waiting')).toBe('todo')
  })

  it('never gives a green tick to a key step passed without a key or without its check', () => {
    expect(stepMark(at('webhook'), 'restricted_key')).toBe('skipped')
    expect(stepNote(at('webhook'), 'restricted_key')).toBe('skipped: add a key later')
    expect(stepMark(at('webhook', { keySet }), 'restricted_key')).toBe('attention')
    expect(stepNote(at('webhook', { keySet }), 'restricted_key')).toBe('key stored, permissions not checked')
    expect(stepMark(at('webhook', { keySet, keyCheck }), 'restricted_key')).toBe('done')
    expect(stepNote(at('webhook', { keySet, keyCheck }), 'restricted_key')).toBeNull()
  })

  it('says Close, not Finish later, once the test event arrived', () => {
    const processor = { id: 1 } as unknown as WizardState['processor']
    expect(exitLabel(at('choose'))).toBe('Cancel')
    expect(exitLabel(at('waiting', { processor, connection: 'waiting' }))).toBe('Finish later')
    expect(exitLabel(at('waiting', { processor, connection: 'connected' }))).toBe('Close')
    expect(stepMark(at('waiting', { processor, connection: 'connected' }), 'waiting')).toBe('done')
  })
})

