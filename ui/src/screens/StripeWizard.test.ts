import { afterEach, expect, it, vi } from 'vitest'
import type { Processor } from '../lib/types'
import { click, navigate, renderApp, text, type } from '../test/app'
import { EVENT_TYPES, processorFixtures, stripeAccount, stripeProcessor } from '../test/fixtures'
import { createMockBackend as mockBackend } from '../test/mockIpc'

/** Joined at run time: no string in the source looks like a real Stripe key or secret. */
const fake = (...parts: string[]) => parts.join('_')

let view: ReturnType<typeof renderApp> | null = null
afterEach(() => {
  view?.destroy()
  view = null
})

/** A backend with the processors in `list` and a Stripe account; `tunnel`: the dashboard's tunnel runs. */
function createMockBackend(list: Processor[] = [], opts: Parameters<typeof stripeAccount>[0] = {}) {
  const tunnel = opts.tunnel ? ({ state: 'on', public_url: 'https://abc.ngrok.app', error: null } as const) : undefined
  const processors = processorFixtures(list, tunnel ? { tunnel } : {})
  const stripe = stripeAccount(opts)
  return Object.assign(mockBackend({ ...processors, ...stripe.fixtures }), { account: stripe.account, processors: processors.list })
}

const next = () => click(view!.$('#wizard-next'))
const stepTitle = () => text(view!.$('#wizard-step-title'))

it('walks from "Add Stripe" to Interconnected', async () => {
  const backend = createMockBackend()
  view = renderApp(backend, '#/processors')
  await vi.waitFor(() => expect(view!.$$('#add-stripe')).toHaveLength(1))
  expect(text(view.$('main'))).toContain('No processors yet — add Stripe to start')

  expect(view.$('#add-stripe')?.getAttribute('href')).toBe('#/processors/new')
  navigate('#/processors/new')
  await vi.waitFor(() => expect(stepTitle()).toBe('Choose the processor'))

  next()
  await vi.waitFor(() => expect(stepTitle()).toBe('What Stripe processes'))
  expect(text(view.$('form'))).toContain('Art. 28')
  expect(text(view.$('form'))).toContain('Customer records')

  next()
  await vi.waitFor(() => expect(stepTitle()).toBe('Restricted API key'))
  const key = view.$<HTMLInputElement>('#stripe-key')!
  expect(key.type).toBe('password')
  expect(key.disabled).toBe(false)
  expect(view.$<HTMLButtonElement>('#check-key')?.disabled).toBe(true)
  expect(text(view.$('#wizard-next'))).toBe('Skip for now')

  next()
  await vi.waitFor(() => expect(view!.$('#webhook-url')).not.toBeNull())
  const url = text(view.$('#webhook-url'))
  expect(url).toBe(backend.processors[0].webhook_url)
  expect(view.$<HTMLTextAreaElement>('#event-types')?.value).toBe(EVENT_TYPES.join('\n'))
  expect(text(view.$('form'))).toContain('stripe listen --forward-to')
  // No tunnel and no public URL typed: no automatic registration offered.
  expect(view.$('#register-webhook')).toBeNull()

  next()
  await vi.waitFor(() => expect(view!.$('#signing-secret')).not.toBeNull())
  const secret = view.$<HTMLInputElement>('#signing-secret')!
  expect(secret.type).toBe('password')
  expect(view.$<HTMLButtonElement>('#wizard-next')?.disabled).toBe(true)

  type(secret, 'not-a-secret')
  next()
  await vi.waitFor(() => expect(text(view!.$('#signing-secret-error'))).toContain('whsec_'))
  expect(secret.getAttribute('aria-invalid')).toBe('true')
  expect(backend.calls.some(([m]) => m === 'processorSetSecret')).toBe(false)

  type(secret, fake('whsec', 'test') + '_0123456789')
  next()
  await vi.waitFor(() => expect(view!.$('#wizard-status')).not.toBeNull())
  expect(backend.calls.find(([m]) => m === 'processorSetSecret')?.[1]).toEqual([1, fake('whsec', 'test') + '_0123456789'])
  expect(view.$('#wizard-status')?.getAttribute('aria-live')).toBe('polite')
  expect(text(view.$('#wizard-status'))).toContain('Waiting for a test event')
  expect(text(view.$('#wizard-status'))).not.toContain('Interconnected')
  expect(text(view.$('form'))).toContain('stripe trigger customer.created')
  expect(view.$<HTMLButtonElement>('#wizard-next')?.disabled).toBe(true)

  // The first verified event arrives.
  backend.processors[0].status = 'interconnected'
  backend.emit('activity-changed', 1)
  await vi.waitFor(() => expect(text(view!.$('#wizard-status'))).toContain('Interconnected'))
  expect(view.$('#wizard-status')?.classList.contains('connected')).toBe(true)
  expect(view.$<HTMLButtonElement>('#wizard-next')?.disabled).toBe(false)
  expect(backend.listenerCount()).toBe(0)

  next()
  await vi.waitFor(() => expect(window.location.hash).toBe('#/processors'))
})

/** Resumes processor 5 at its webhook URL and saves a signing secret: the last step. */
async function toLastStep(backend: ReturnType<typeof createMockBackend>) {
  view = renderApp(backend, '#/processors/5/setup')
  await vi.waitFor(() => expect(view!.$('#webhook-url')).not.toBeNull())
  next()
  await vi.waitFor(() => expect(view!.$('#signing-secret')).not.toBeNull())
  type(view!.$('#signing-secret'), fake('whsec', 'test') + '_0123456789')
  next()
  await vi.waitFor(() => expect(view!.$('#wizard-status')).not.toBeNull())
  expect(stepTitle()).toBe('Test event')
}

it('offers to start Privacy Desk at login on the last step, off by default, set at once', async () => {
  const backend = createMockBackend([stripeProcessor(5)])
  await toLastStep(backend)
  const box = view!.$<HTMLInputElement>('#wizard-autostart')!
  await vi.waitFor(() => expect(box.disabled).toBe(false))
  expect(box.checked).toBe(false)
  expect(text(view!.$('label:has(#wizard-autostart)'))).toBe('Start Privacy Desk when I log in')
  expect(text(view!.$('#wizard-autostart-hint'))).toBe('It starts in the tray and receives events, with no window, so none wait for the catch-up after a restart.')

  click(box)
  await vi.waitFor(() => expect(text(view!.$('#wizard-autostart-saved'))).toBe('Saved.'))
  expect(backend.calls.find(([m]) => m === 'autostartSet')?.[1]).toEqual([true])
  expect(box.checked).toBe(true)
  // The switch is not the wizard's Next: still on the last step.
  expect(stepTitle()).toBe('Test event')
  expect(window.location.hash).toBe('#/processors/5/setup')
})

it('shows start at login on when it already is, and puts it back when turning it off fails', async () => {
  const backend = createMockBackend([stripeProcessor(5)])
  backend.fixtures.autostartGet = true
  await toLastStep(backend)
  const box = view!.$<HTMLInputElement>('#wizard-autostart')!
  await vi.waitFor(() => expect(box.disabled).toBe(false))
  expect(box.checked).toBe(true)

  backend.failNext('autostartSet', { code: 'io', message: 'the login items could not be changed' })
  click(box)
  await vi.waitFor(() => expect(text(view!.$('#wizard-autostart-error'))).toBe('the login items could not be changed'))
  expect(view!.$('#wizard-autostart-error')?.getAttribute('role')).toBe('alert')
  expect(backend.calls.find(([m]) => m === 'autostartSet')?.[1]).toEqual([false])
  expect(box.checked).toBe(true)
})

it('"Continue setup" resumes an existing processor at its webhook URL', async () => {
  const backend = createMockBackend([stripeProcessor(5)])
  view = renderApp(backend, '#/processors')
  await vi.waitFor(() => expect(view!.$('tr[data-processor-id="5"]')).not.toBeNull())
  // The list hides the URL's token.
  expect(text(view.$('tr[data-processor-id="5"]'))).toContain('token=••••••')
  expect(text(view.$('tr[data-processor-id="5"]'))).not.toContain('tok5')
  expect(view.$$('#add-stripe')).toHaveLength(1)
  const link = view.$<HTMLAnchorElement>('tr[data-processor-id="5"] td a')!
  expect(link.getAttribute('href')).toBe('#/processors/5/setup')

  view.destroy()
  view = renderApp(backend, '#/processors/5/setup')
  await vi.waitFor(() => expect(text(view!.$('#webhook-url'))).toBe(backend.processors[0].webhook_url))
  expect(backend.calls.some(([m]) => m === 'processorAddStripe')).toBe(false)
})

it('shows why the processor could not be created', async () => {
  const backend = createMockBackend()
  view = renderApp(backend, '#/processors/new')
  await vi.waitFor(() => expect(stepTitle()).toBe('Choose the processor'))
  next()
  await vi.waitFor(() => expect(stepTitle()).toBe('What Stripe processes'))
  next()
  await vi.waitFor(() => expect(stepTitle()).toBe('Restricted API key'))
  backend.failNext('processorAddStripe', { code: 'keychain', message: 'The OS keychain is locked: unlock it and try again.' })
  next()
  await vi.waitFor(() => expect(text(view!.$('[role="alert"]'))).toContain('The OS keychain is locked'))
  expect(stepTitle()).toBe('Restricted API key')
})

async function toKeyStep(backend: ReturnType<typeof createMockBackend>) {
  view = renderApp(backend, '#/processors/new')
  await vi.waitFor(() => expect(stepTitle()).toBe('Choose the processor'))
  next()
  await vi.waitFor(() => expect(stepTitle()).toBe('What Stripe processes'))
  next()
  await vi.waitFor(() => expect(stepTitle()).toBe('Restricted API key'))
}

const checkKeyButton = () => view!.$<HTMLButtonElement>('#check-key')

it('checks a restricted key: stores it, lists granted and missing permissions and enabled workflows', async () => {
  const backend = createMockBackend([], {
    missing: ['webhook_endpoints_write', 'customers_write'],
    disabled: ['webhook_registration', 'erasure_at_stripe'],
  })
  await toKeyStep(backend)

  type(view!.$('#stripe-key'), 'pk_test_0123456789abcdef')
  click(checkKeyButton())
  await vi.waitFor(() => expect(text(view!.$('#stripe-key-error'))).toContain('publishable key'))
  expect(view!.$('#stripe-key')?.getAttribute('aria-invalid')).toBe('true')
  expect(backend.calls.some(([m]) => m === 'stripeSetKey' || m === 'processorAddStripe')).toBe(false)

  type(view!.$('#stripe-key'), '  rk_test_0123456789abcdef ')
  click(checkKeyButton())
  await vi.waitFor(() => expect(view!.$('#key-permissions')).not.toBeNull())
  // The processor is created first: the key is stored per processor.
  expect(backend.calls.map(([m]) => m).filter((m) => ['processorAddStripe', 'stripeSetKey', 'stripeCheck'].includes(m))).toEqual([
    'processorAddStripe',
    'stripeSetKey',
    'stripeCheck',
  ])
  expect(backend.calls.find(([m]) => m === 'stripeSetKey')?.[1]).toEqual([1, 'rk_test_0123456789abcdef'])
  expect(view!.$<HTMLInputElement>('#stripe-key')?.value).toBe('')
  expect(text(view!.$('#key-result'))).toContain('Restricted key · test mode')
  expect(text(view!.$('#key-result'))).toContain('lacks 2 of 8 permissions')
  expect(view!.$('[data-permission="events_read"]')?.getAttribute('data-granted')).toBe('true')
  expect(text(view!.$('[data-permission="webhook_endpoints_write"]'))).toContain('missing')
  expect(view!.$('[data-workflow="catch_up"]')?.getAttribute('data-enabled')).toBe('true')
  expect(text(view!.$('[data-workflow="webhook_registration"]'))).toContain('not enabled')
  expect(view!.$('#key-warning')).toBeNull()
  expect(text(view!.$('#wizard-next'))).toBe('Next')

  // Next does not create a second processor.
  next()
  await vi.waitFor(() => expect(view!.$('#webhook-url')).not.toBeNull())
  expect(backend.processors).toHaveLength(1)
})

it('warns prominently about a full secret key, before and after storing it', async () => {
  const backend = createMockBackend()
  await toKeyStep(backend)
  type(view!.$('#stripe-key'), fake('sk', 'live', '0123456789abcdef'))
  expect(text(view!.$('#stripe-key-warning'))).toContain('full secret key')
  expect(view!.$('#stripe-key-warning')?.getAttribute('role')).toBe('alert')
  click(checkKeyButton())
  await vi.waitFor(() => expect(view!.$('#key-warning')).not.toBeNull())
  expect(text(view!.$('#key-warning'))).toContain('Over-privileged key stored')
  expect(view!.$('#key-warning')?.classList.contains('bad')).toBe(true)
})

it('shows Stripe rejecting the key at the field and stays on the step', async () => {
  const backend = createMockBackend()
  await toKeyStep(backend)
  backend.failNext('stripeSetKey', { code: 'invalid_input', message: 'Stripe rejected the API key: it is wrong, revoked or expired' })
  type(view!.$('#stripe-key'), fake('rk', 'live', '0123456789abcdef'))
  click(checkKeyButton())
  await vi.waitFor(() => expect(text(view!.$('#stripe-key-error'))).toContain('revoked'))
  expect(stepTitle()).toBe('Restricted API key')
  expect(text(view!.$('#wizard-next'))).toBe('Skip for now')
})

it('registers the webhook automatically through the running tunnel and skips the secret step', async () => {
  const backend = createMockBackend([], { tunnel: true })
  await toKeyStep(backend)
  type(view!.$('#stripe-key'), 'rk_test_0123456789abcdef')
  click(checkKeyButton())
  await vi.waitFor(() => expect(view!.$('#key-permissions')).not.toBeNull())
  next()
  await vi.waitFor(() => expect(view!.$('#register-webhook')).not.toBeNull())
  expect(text(view!.$('form'))).toContain('https://abc.ngrok.app')
  // The manual path is still there.
  expect(view!.$('#webhook-url')).not.toBeNull()

  click(view!.$('#register-webhook'))
  await vi.waitFor(() => expect(view!.$('#wizard-status')).not.toBeNull())
  expect(backend.calls.find(([m]) => m === 'stripeRegisterWebhook')?.[1]).toEqual([1, null])
  expect(backend.calls.some(([m]) => m === 'processorSetSecret')).toBe(false)
  expect(text(view!.$('#registration-result'))).toContain('we_1')
  expect(text(view!.$('#registration-result'))).toContain('signing secret is stored')
  expect(text(view!.$('li[data-step="secret"]'))).toContain('not needed')
  expect(text(view!.$('#wizard-status'))).toContain('Waiting for a test event')
})

it('registers with a typed public URL; a failure keeps the manual copy-URL and paste-secret path', async () => {
  const backend = createMockBackend([stripeProcessor(3)])
  view = renderApp(backend, '#/processors/3/setup')
  await vi.waitFor(() => expect(view!.$('#webhook-url')).not.toBeNull())
  expect(view!.$('#register-webhook')).toBeNull()

  type(view!.$('#public-base-url'), 'http://localhost:8787')
  click(view!.$('#register-webhook'))
  await vi.waitFor(() => expect(text(view!.$('#public-base-url-error'))).toContain('local address'))
  expect(backend.calls.some(([m]) => m === 'stripeRegisterWebhook')).toBe(false)

  // No key stored for processor 3: the backend refuses.
  type(view!.$('#public-base-url'), 'https://desk.example.com/')
  click(view!.$('#register-webhook'))
  await vi.waitFor(() => expect(text(view!.$('#register-error'))).toContain('no Stripe API key'))
  expect(backend.calls.find(([m]) => m === 'stripeRegisterWebhook')?.[1]).toEqual([3, 'https://desk.example.com'])
  expect(stepTitle()).toBe('Webhook endpoint')

  next()
  await vi.waitFor(() => expect(view!.$('#signing-secret')).not.toBeNull())

  // With a key, registration works from the same screen.
  click(view!.$$('button').find((b) => text(b) === 'Back')!)
  await vi.waitFor(() => expect(view!.$('#public-base-url')).not.toBeNull())
  backend.account.keys[3] = 'rk_test_0123456789abcdef'
  type(view!.$('#public-base-url'), 'https://desk.example.com')
  click(view!.$('#register-webhook'))
  await vi.waitFor(() => expect(view!.$('#registration-result')).not.toBeNull())
})
