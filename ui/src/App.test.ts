import { afterEach, expect, it, vi } from 'vitest'
import { dashboard, days30, processorFixtures, stripeProcessor } from './test/fixtures'
import { createMockBackend } from './test/mockIpc'
import { navigate, renderApp, text } from './test/app'

let view: ReturnType<typeof renderApp> | null = null
afterEach(() => {
  view?.destroy()
  view = null
})

it('names the app in the title and shows the version the backend reports', async () => {
  const backend = createMockBackend()
  view = renderApp(backend)
  expect(document.title).toContain('Privacy Desk')
  expect(text(view.$('.brand'))).toBe('Privacy Desk')
  await vi.waitFor(() => expect(text(view!.$('#app-version'))).toBe('Version 0.1.0'))
})

it('says the version is unknown when the backend cannot tell', async () => {
  const backend = createMockBackend()
  backend.failNext('appInfo', { code: 'unknown', message: 'no IPC' })
  view = renderApp(backend)
  await vi.waitFor(() => expect(text(view!.$('#app-version'))).toBe('Version unknown'))
})

it('has one link per screen with stable ids, marking the current one', async () => {
  view = renderApp(createMockBackend())
  const ids = view.$$('nav a[id^="nav-"]').map((a) => a.id)
  expect(ids).toEqual(['nav-dashboard', 'nav-processors', 'nav-activity', 'nav-subjects', 'nav-requests', 'nav-deliveries', 'nav-reports', 'nav-settings'])
  expect(view.$('#nav-dashboard')?.getAttribute('aria-current')).toBe('page')

  navigate('#/processors/new')
  expect(view.$('#nav-processors')?.getAttribute('aria-current')).toBe('page')
  expect(view.$('#nav-dashboard')?.hasAttribute('aria-current')).toBe(false)
  expect(document.title).toBe('Processors — Privacy Desk')
  // Focus moves to the new screen's heading.
  await vi.waitFor(() => expect(document.activeElement?.tagName).toBe('H1'))
  expect(text(document.activeElement)).toBe('Add Stripe')
})

it('dashboard: empty state says what to do', async () => {
  view = renderApp(createMockBackend())
  await vi.waitFor(() => expect(text(view!.$('main'))).toContain('No processors yet — add Stripe to start'))
  await vi.waitFor(() => expect(text(view!.$('#open-requests-card'))).toContain('No open data subject requests'))
  expect(view.$('main svg[role="img"]')?.getAttribute('aria-label')).toBe('0 events in the last 30 days')
})

it('dashboard: processors with their status, receiver, rejected deliveries', async () => {
  const processors = [
    stripeProcessor(1, { status: 'interconnected', last_event_at: '2026-03-01T10:00:00Z' }),
    stripeProcessor(2, { name: 'Stripe EU' }),
  ]
  const backend = createMockBackend({
    ...processorFixtures(processors),
    dashboard: dashboard(processors, { rejected_last_24h: 4, events_per_day: days30('2026-03-30', (i) => (i === 29 ? 12 : 0)) }),
  })
  view = renderApp(backend)
  await vi.waitFor(() => expect(view!.$$('[data-processor-id]')).toHaveLength(2))
  expect(text(view.$('[data-processor-id="1"]'))).toContain('Interconnected')
  expect(text(view.$('[data-processor-id="2"]'))).toContain('Awaiting first event')
  expect(text(view.$('main'))).toContain('127.0.0.1:8787')
  expect(text(view.$('main'))).toContain('4 in the last 24 hours')
  expect(view.$('main svg[role="img"]')?.getAttribute('aria-label')).toMatch(/^12 events in the last 30 days, most on/)
  expect(view.$$('svg rect')).toHaveLength(30)
})

it('dashboard: refreshes when events arrive', async () => {
  const backend = createMockBackend()
  view = renderApp(backend)
  await vi.waitFor(() => expect(backend.listenerCount()).toBe(1))
  const before = backend.calls.filter(([m]) => m === 'dashboard').length
  backend.emit('activity-changed', 2)
  await vi.waitFor(() => expect(backend.calls.filter(([m]) => m === 'dashboard').length).toBe(before + 1))
})

it('stops listening for events when leaving a screen', async () => {
  const backend = createMockBackend()
  view = renderApp(backend, '#/activity')
  await vi.waitFor(() => expect(backend.listenerCount()).toBe(1))
  navigate('#/settings')
  await vi.waitFor(() => expect(backend.listenerCount()).toBe(0))
})

it('keeps a sidebar screen as the user left it, out of the document while another is shown, with its data loaded again', async () => {
  const backend = createMockBackend()
  view = renderApp(backend, '#/activity')
  await vi.waitFor(() => expect(backend.listenerCount()).toBe(1))
  const typed = view.$<HTMLInputElement>('#filter-subject')!
  typed.value = 'ada@'
  const queries = () => backend.calls.filter(([m]) => m === 'activityQuery').length

  navigate('#/requests')
  // Only the screen shown is in the document: one set of ids, nothing the user cannot see.
  expect(view.$('#filter-subject')).toBeNull()
  expect(view.$$('#main h1').map(text)).toEqual(['Requests'])
  // A hidden screen does no work: no live updates, no loads.
  await vi.waitFor(() => expect(backend.listenerCount()).toBe(0))
  const hiddenQueries = queries()
  backend.emit('activity-changed', 3)
  await new Promise((r) => setTimeout(r, 50))
  expect(queries()).toBe(hiddenQueries)

  navigate('#/activity')
  // The same screen comes back (what was typed is still there), and it reads the log again.
  expect(view.$('#filter-subject')).toBe(typed)
  expect(typed.value).toBe('ada@')
  expect(view.$$('#main h1').map(text)).toEqual(['Processing Activity Log'])
  await vi.waitFor(() => expect(queries()).toBe(hiddenQueries + 1))
  await vi.waitFor(() => expect(backend.listenerCount()).toBe(1))
  await vi.waitFor(() => expect(document.activeElement).toBe(view!.$('#main h1')))
})

it('builds a screen of its own for a sidebar link with a filter, beside the kept one', async () => {
  const backend = createMockBackend()
  view = renderApp(backend, '#/activity')
  await vi.waitFor(() => expect(backend.listenerCount()).toBe(1))
  const kept = view.$('#filter-subject')

  navigate('#/activity?subject=ada%40example.com')
  const filtered = view.$<HTMLInputElement>('#filter-subject')
  expect(filtered).not.toBe(kept)
  expect(filtered?.value).toBe('ada@example.com')
  expect(view.$$('#main h1')).toHaveLength(1)

  navigate('#/activity')
  expect(view.$('#filter-subject')).toBe(kept)
  expect(view.$$('#main h1')).toHaveLength(1)
})
