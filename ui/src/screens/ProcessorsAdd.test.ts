// Processors: adding a manual and a generic webhook processor. Dashboard: the checklist card.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { formatDay } from '../lib/format'
import { click, renderApp, text, type } from '../test/app'
import { emptyRopa, processorFixtures, stripeProcessor } from '../test/fixtures'
import { createMockBackend } from '../test/mockIpc'

let view: ReturnType<typeof renderApp> | null = null
afterEach(() => {
  view?.destroy()
  view = null
})

describe('adding processors', () => {
  it('adds a manual processor, shown as RoPA only without a webhook URL', async () => {
    const backend = createMockBackend(processorFixtures([stripeProcessor(1)]))
    view = renderApp(backend, '#/processors')
    await vi.waitFor(() => expect(view!.$$('#processors-table tbody tr')).toHaveLength(1))
    click(view.$('#add-manual'))
    click(view.$('#add-manual-save'))
    expect(text(view.$('#manual-name-error'))).toMatch(/name/)
    expect(backend.calls.some(([m]) => m === 'processorAddManual')).toBe(false)

    type(view.$<HTMLInputElement>('#manual-name'), '  Payroll bureau ')
    click(view.$('#add-manual-save'))
    await vi.waitFor(() => expect(view!.$$('#processors-table tbody tr')).toHaveLength(2))
    expect(backend.calls.find(([m]) => m === 'processorAddManual')?.[1]).toEqual(['Payroll bureau'])
    expect(view.$('#add-manual-form')).toBeNull()
    expect(text(view.$('#processor-added'))).toContain('Payroll bureau added')
    const row = text(view.$('#processors-table tbody tr:last-child'))
    expect(row).toContain('Manual')
    expect(row).toContain('RoPA only')
    expect(row).toContain('No webhooks')
  })

  it('adds a webhook processor and shows its URL with a copy button', async () => {
    const backend = createMockBackend(processorFixtures([]))
    view = renderApp(backend, '#/processors')
    await vi.waitFor(() => expect(view!.$('#add-webhook')).not.toBeNull())
    click(view.$('#add-webhook'))
    expect(view.$<HTMLInputElement>('#wh-signature_header')!.value).toBe('X-Signature')

    type(view.$<HTMLInputElement>('#wh-name'), 'QuickBooks')
    type(view.$<HTMLInputElement>('#wh-id_pointer'), 'id')
    click(view.$('#add-webhook-save'))
    expect(text(view.$('#wh-id_pointer-error'))).toMatch(/starts with/)
    expect(text(view.$('#wh-type_pointer-error'))).toMatch(/Required/)
    expect(document.activeElement?.id).toBe('wh-id_pointer')

    type(view.$<HTMLInputElement>('#wh-id_pointer'), '/eventNotifications/0/id')
    type(view.$<HTMLInputElement>('#wh-type_pointer'), '/eventNotifications/0/type')
    type(view.$<HTMLInputElement>('#wh-email_pointer'), '/customer/email')
    type(view.$<HTMLSelectElement>('#wh-signature_encoding'), 'base64')
    type(view.$<HTMLInputElement>('#wh-signature_header'), 'intuit-signature')
    type(view.$<HTMLInputElement>('#wh-signing_secret'), 'a-shared-secret')
    // QuickBooks signs only the body: the timestamp, on by default, is turned off.
    expect(view.$<HTMLInputElement>('#wh-timestamp')!.checked).toBe(true)
    click(view.$('#wh-timestamp'))
    click(view.$('#add-webhook-save'))
    await vi.waitFor(() => expect(view!.$$('#processors-table tbody tr')).toHaveLength(1))
    const [name, config, secret] = backend.calls.find(([m]) => m === 'processorAddWebhook')![1] as [string, Record<string, unknown>, string]
    expect(name).toBe('QuickBooks')
    expect(secret).toBe('a-shared-secret')
    expect(config).toMatchObject({ signature_header: 'intuit-signature', signature_encoding: 'base64', id_pointer: '/eventNotifications/0/id', time_pointer: null, timestamp: null })
    expect(text(view.$('#added-webhook-url'))).toMatch(/^http:\/\/127\.0\.0\.1:8787\/webhooks\/custom\//)
    expect(view.$('#copy-added-url')).not.toBeNull()
    const row = view.$('#processors-table tbody tr')!
    expect(text(row)).toContain('Webhook')
    expect(text(row.querySelector('.url code'))).toContain('token=••••••')
    expect(row.querySelector('.url button')).not.toBeNull()
  })

  it('shows the backend refusal in the form', async () => {
    const backend = createMockBackend(processorFixtures([]))
    view = renderApp(backend, '#/processors')
    await vi.waitFor(() => expect(view!.$('#add-manual')).not.toBeNull())
    click(view.$('#add-manual'))
    type(view.$<HTMLInputElement>('#manual-name'), 'Mailer')
    backend.failNext('processorAddManual', { code: 'database', message: 'the database is locked' })
    click(view.$('#add-manual-save'))
    await vi.waitFor(() => expect(text(view!.$('#add-manual-form [role="alert"]'))).toContain('the database is locked'))
  })
})

describe('dashboard checklist', () => {
  it('shows each step done or not, with dates, and links to Reports', async () => {
    const ropa = emptyRopa()
    ropa.checklist[1] = { ...ropa.checklist[1], done_on: '2026-03-02', evidence: 'https://example.com/dpa' }
    const backend = createMockBackend({ ropaReport: ropa })
    view = renderApp(backend, '#/dashboard')
    await vi.waitFor(() => expect(view!.$$('#dash-checklist li')).toHaveLength(6))
    expect(text(view.$('#dash-checklist-progress'))).toContain('1 of 6 done')
    // In the locale's one date format, like every other date in the window.
    expect(text(view.$('[data-step="dpa_executed"]'))).toContain(`Done ${formatDay('2026-03-02', true)}`)
    expect(text(view.$('[data-step="dpa_executed"]'))).not.toContain('2026-03-02')
    expect(view.$('[data-step="dpa_executed"]')?.getAttribute('data-done')).toBe('true')
    expect(text(view.$('[data-step="privacy_notice"]'))).toContain('Not done')
    expect(view.$('#checklist-card a')?.getAttribute('href')).toBe('#/reports')
  })
})
