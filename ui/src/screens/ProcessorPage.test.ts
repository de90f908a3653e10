import { afterEach, describe, expect, it, vi } from 'vitest'
import { click, renderApp, text, type } from '../test/app'
import { processorFixtures, stripeAccount, stripeProcessor } from '../test/fixtures'
import { createMockBackend } from '../test/mockIpc'

let view: ReturnType<typeof renderApp> | null = null
afterEach(() => {
  view?.destroy()
  view = null
})

const KEY = 'rk_test_51ProcessorPageKey'

describe('processor page', () => {
  it('is reached from the list, adds a key after onboarding and shows what it enables', async () => {
    const procs = processorFixtures([stripeProcessor(1, { name: 'Stripe (shop)', status: 'interconnected' })])
    const { fixtures: stripe } = stripeAccount({ missing: ['webhook_endpoints_write'], disabled: ['webhook_registration'] })
    const backend = createMockBackend({
      ...procs,
      ...stripe,
      stripeSetKey: (id, key) => {
        procs.list[0].api_key_stored = true
        return (stripe.stripeSetKey as (id: number, key: string) => unknown)(id, key) as never
      },
    })
    view = renderApp(backend, '#/processors')
    await vi.waitFor(() => expect(view!.$('a.processor-link')).not.toBeNull())
    expect(view.$('a.processor-link')?.getAttribute('href')).toBe('#/processors/1')
    view.destroy()

    view = renderApp(backend, '#/processors/1')
    await vi.waitFor(() => expect(text(view!.$('#processor-title'))).toBe('Stripe (shop)'))
    expect(view.$('#nav-processors')?.getAttribute('aria-current')).toBe('page')
    // The URL once, in the webhook step (register at Stripe, or add it by hand).
    expect(text(view.$('#webhook-url'))).toContain('/webhooks/stripe/ep1')
    expect(view.$$('code').filter((c) => text(c).startsWith('http') && text(c).includes('/webhooks/stripe/ep1'))).toHaveLength(1)
    expect(view.$<HTMLButtonElement>('#catch-up-now')?.disabled).toBe(true)

    type(view.$<HTMLInputElement>('#stripe-key'), KEY)
    click(view.$('#check-key'))
    await vi.waitFor(() => expect(view!.$('#key-workflows')).not.toBeNull())
    expect(backend.calls.find(([m]) => m === 'stripeSetKey')?.[1]).toEqual([1, KEY])
    expect(view.$('[data-workflow="webhook_registration"]')?.getAttribute('data-enabled')).toBe('false')
    expect(view.$('[data-permission="webhook_endpoints_write"]')?.getAttribute('data-granted')).toBe('false')
    // The page shows the processor anew: the key is stored, catch-up is possible.
    await vi.waitFor(() => expect(view!.$('#key-stored')).not.toBeNull())
    expect(view.$<HTMLButtonElement>('#catch-up-now')?.disabled).toBe(false)
  })

  it('renames, replaces the secret with a check, and removes after saying what happens', async () => {
    const procs = processorFixtures([stripeProcessor(1), stripeProcessor(2, { name: 'Old Stripe' })])
    const backend = createMockBackend({
      ...procs,
    })
    view = renderApp(backend, '#/processors/2')
    await vi.waitFor(() => expect(text(view!.$('#processor-title'))).toBe('Old Stripe'))

    type(view.$<HTMLInputElement>('#processor-name'), 'Stripe EU')
    click(view.$('#rename-processor'))
    await vi.waitFor(() => expect(text(view!.$('#rename-status'))).toBe('Name saved.'))
    expect(text(view.$('#processor-title'))).toBe('Stripe EU')
    expect(backend.calls.find(([m]) => m === 'processorRename')?.[1]).toEqual([2, 'Stripe EU'])

    // Not a signing secret: refused before it reaches the keychain.
    type(view.$<HTMLInputElement>('#processor-secret'), 'rk_test_oops')
    click(view.$('#replace-secret'))
    await vi.waitFor(() => expect(text(view!.$('#p-secret')?.parentElement ?? null)).toContain('That is an API key'))
    expect(backend.calls.some(([m]) => m === 'processorSetSecret')).toBe(false)
    type(view.$<HTMLInputElement>('#processor-secret'), 'whsec_rolled_0123456789')
    click(view.$('#replace-secret'))
    await vi.waitFor(() => expect(text(view!.$('#secret-status'))).toContain('Signing secret replaced'))
    expect(backend.calls.find(([m]) => m === 'processorSetSecret')?.[1]).toEqual([2, 'whsec_rolled_0123456789'])

    click(view.$('#remove-processor'))
    const confirm = text(view.$('#remove-confirm'))
    expect(confirm).toContain('Its events stay in the Processing Activity Log')
    expect(confirm).toContain('refused')
    expect(backend.calls.some(([m]) => m === 'processorRemove')).toBe(false)
    click(view.$('#remove-confirm-yes'))
    await vi.waitFor(() => expect(view!.$('#processor-removed')).not.toBeNull())
    expect(view.$('#processor-status')?.getAttribute('data-status')).toBe('removed')
    expect(view.$('#remove-processor')).toBeNull()
    view.destroy()

    // The list shows it apart, under "Removed".
    view = renderApp(backend, '#/processors')
    await vi.waitFor(() => expect(view!.$('#removed-processors [data-processor-id="2"]')).not.toBeNull())
    expect(view.$('#processors-table [data-processor-id="2"]')).toBeNull()
  })
})
