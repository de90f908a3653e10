import { afterEach, expect, it, vi } from 'vitest'
import { createMockBackend, stripeProcessor } from '../lib/mockBackend'
import { click, navigate, renderApp, text, type } from '../test/app'

let view: ReturnType<typeof renderApp> | null = null
afterEach(() => {
  view?.destroy()
  view = null
})

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
  expect(view.$<HTMLInputElement>('#restricted-key')?.disabled).toBe(true)
  expect(text(view.$('form'))).toContain('Checking restricted keys arrives with the Stripe API release')
  expect(text(view.$('#wizard-next'))).toBe('Skip for now')

  next()
  await vi.waitFor(() => expect(view!.$('#webhook-url')).not.toBeNull())
  const url = text(view.$('#webhook-url'))
  expect(url).toBe(backend.data.processors[0].webhook_url)
  expect(view.$<HTMLTextAreaElement>('#event-types')?.value).toBe(backend.data.eventTypes.join('\n'))
  expect(text(view.$('form'))).toContain('stripe listen --forward-to')

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

  type(secret, 'whsec_test_0123456789')
  next()
  await vi.waitFor(() => expect(view!.$('#wizard-status')).not.toBeNull())
  expect(backend.calls.find(([m]) => m === 'processorSetSecret')?.[1]).toEqual([1, 'whsec_test_0123456789'])
  expect(view.$('#wizard-status')?.getAttribute('aria-live')).toBe('polite')
  expect(text(view.$('#wizard-status'))).toContain('Waiting for a test event')
  expect(text(view.$('#wizard-status'))).not.toContain('Interconnected')
  expect(text(view.$('form'))).toContain('stripe trigger customer.created')
  expect(view.$<HTMLButtonElement>('#wizard-next')?.disabled).toBe(true)

  // The first verified event arrives.
  backend.data.processors[0].status = 'interconnected'
  backend.emitActivityChanged(1)
  await vi.waitFor(() => expect(text(view!.$('#wizard-status'))).toContain('Interconnected'))
  expect(view.$('#wizard-status')?.classList.contains('connected')).toBe(true)
  expect(view.$<HTMLButtonElement>('#wizard-next')?.disabled).toBe(false)
  expect(backend.listenerCount()).toBe(0)

  next()
  await vi.waitFor(() => expect(window.location.hash).toBe('#/processors'))
})

it('"Continue setup" resumes an existing processor at its webhook URL', async () => {
  const backend = createMockBackend({ processors: [stripeProcessor(5)] })
  view = renderApp(backend, '#/processors')
  await vi.waitFor(() => expect(view!.$('tr[data-processor-id="5"]')).not.toBeNull())
  // The list hides the URL's token.
  expect(text(view.$('tr[data-processor-id="5"]'))).toContain('token=••••••')
  expect(text(view.$('tr[data-processor-id="5"]'))).not.toContain('tok5')
  expect(view.$$('#add-stripe')).toHaveLength(1)
  const link = view.$<HTMLAnchorElement>('tr[data-processor-id="5"] a')!
  expect(link.getAttribute('href')).toBe('#/processors/5/setup')

  view.destroy()
  view = renderApp(backend, '#/processors/5/setup')
  await vi.waitFor(() => expect(text(view!.$('#webhook-url'))).toBe(backend.data.processors[0].webhook_url))
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
