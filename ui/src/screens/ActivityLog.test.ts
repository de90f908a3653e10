import { afterEach, expect, it, vi } from 'vitest'
import type { Activity, ActivityQuery, SubjectDetail } from '../lib/types'
import type { JsonValue } from '../lib/bindings/serde_json/JsonValue'
import { click, renderApp, text, type } from '../test/app'
import { activity, pageOf, processorFixtures, stripeProcessor } from '../test/fixtures'
import { createMockBackend, type Fixtures } from '../test/mockIpc'

let view: ReturnType<typeof renderApp> | null = null
afterEach(() => {
  view?.destroy()
  view = null
})

const TYPES = ['customer.created', 'charge.succeeded', 'invoice.paid', 'customer.subscription.created']

const ada: SubjectDetail = {
  id: 1,
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  created_at: '2026-03-01T12:00:00Z',
  activity_count: 30,
  status: 'active',
  external_ids: [{ processor_id: 1, external_id: 'cus_ada' }],
  emails: [
    { email: 'ada@old.example', first_seen_at: '2026-02-01T00:00:00Z', replaced_at: '2026-03-01T00:00:00Z' },
    { email: 'ada@example.com', first_seen_at: '2026-03-01T00:00:00Z', replaced_at: null },
  ],
  timeline: [],
}

/**
 * `n` events, every fourth one Ada's, the types in turn; the backend's answer for each filter
 * the tests apply is stated here (which rows match), not worked out.
 */
function seeded(n = 120): Fixtures & { rows: Activity[] } {
  const rows = Array.from({ length: n }, (_, i) =>
    activity(i + 1, {
      event_type: `stripe:${TYPES[i % 4]}`,
      ...(i % 4 === 0 ? { subject_email: 'ada@example.com', subject_id: 1, status: 'linked' } : {}),
    }),
  )
  const ofType: Record<string, (a: Activity) => boolean> = {
    'customer.*': (a) => a.event_type === 'stripe:customer.created' || a.event_type === 'stripe:customer.subscription.created',
    'charge.*': (a) => a.event_type === 'stripe:charge.succeeded',
    'invoice.*': (a) => a.event_type === 'stripe:invoice.paid',
  }
  const ofSubject: Record<string, (a: Activity) => boolean> = {
    Lovelace: (a) => a.subject_id === 1,
    'ada@example.com': (a) => a.subject_id === 1,
  }
  const matching = (q: ActivityQuery) =>
    rows
      .filter((a) => (q.event_type ? ofType[q.event_type](a) : true) && (q.subject ? ofSubject[q.subject](a) : true))
      .sort((x, y) => y.id - x.id)
  return {
    rows,
    ...processorFixtures([stripeProcessor(1, { status: 'interconnected' })]),
    activityQuery: (q) => pageOf(matching(q), q),
    activityExportCsv: (q) => matching(q).length,
    activityDetail: (id) => ({
      activity: rows.find((a) => a.id === id)!,
      data: {
        object: 'customer',
        object_id: 'cus_ada',
        fields: { id: 'cus_ada', currency: 'eur', delinquent: false },
        subject: { email: 'ada@example.com', name: 'Ada Lovelace' },
        observed: ['email', 'name'],
      },
      subject: (({ id, email, name, created_at, activity_count, status }) => ({ id, email, name, created_at, activity_count, status }))(ada),
    }),
  }
}

const lastQuery = (backend: ReturnType<typeof createMockBackend>) =>
  backend.calls.filter(([m]) => m === 'activityQuery').at(-1)?.[1][0] as ActivityQuery

it('lists the newest page first with the total, and loads more by cursor', async () => {
  const backend = createMockBackend(seeded())
  view = renderApp(backend, '#/activity')
  await vi.waitFor(() => expect(view!.$$('#activity-table tr[data-event-id]')).toHaveLength(50))
  expect(text(view.$('#activity-total'))).toBe('120')
  expect(view.$('#activity-table tr[data-event-id]')?.getAttribute('data-event-id')).toBe('evt_120')

  click(view.$('#load-more'))
  await vi.waitFor(() => expect(view!.$$('#activity-table tr[data-event-id]')).toHaveLength(100))
  expect(lastQuery(backend).cursor).toBe('71')
  click(view.$('#load-more'))
  await vi.waitFor(() => expect(view!.$$('#activity-table tr[data-event-id]')).toHaveLength(120))
  expect(view.$('#load-more')).toBeNull()
  const ids = view.$$('#activity-table tr[data-event-id]').map((r) => r.getAttribute('data-event-id'))
  expect(new Set(ids).size).toBe(120)
})

it('filters by event type glob and subject, combined', async () => {
  const backend = createMockBackend(seeded())
  view = renderApp(backend, '#/activity')
  await vi.waitFor(() => expect(text(view!.$('#activity-total'))).toBe('120'))

  type(view.$('#filter-type'), 'customer.*')
  await vi.waitFor(() => expect(text(view!.$('#activity-total'))).toBe('60'))
  expect(lastQuery(backend).event_type).toBe('customer.*')

  type(view.$('#filter-subject'), 'Lovelace')
  await vi.waitFor(() => expect(text(view!.$('#activity-total'))).toBe('30'))
  expect(lastQuery(backend)).toMatchObject({ event_type: 'customer.*', subject: 'Lovelace', cursor: null })
  expect(view.$$('#activity-table tr[data-event-id]').every((r) => text(r).includes('ada@example.com'))).toBe(true)

  // A group chip replaces the typed type.
  click(view.$$('.chip').find((b) => text(b) === 'invoice.*')!)
  await vi.waitFor(() => expect(text(view!.$('#activity-total'))).toBe('0'))
  expect(text(view.$('main'))).toContain('No events match these filters')

  click(view.$$('button').find((b) => text(b) === 'Clear filters' && !(b as HTMLButtonElement).disabled)!)
  await vi.waitFor(() => expect(text(view!.$('#activity-total'))).toBe('120'))
})

it('refuses a reversed date range without asking the backend', async () => {
  const backend = createMockBackend(seeded(3))
  view = renderApp(backend, '#/activity')
  await vi.waitFor(() => expect(text(view!.$('#activity-total'))).toBe('3'))
  const calls = backend.calls.length
  // Empty date filters read "Any date", not as a set date.
  const dateBox = (id: string) => view!.$(`#${id}`)!.parentElement!
  expect(dateBox('filter-from').getAttribute('data-empty')).toBe('true')
  expect(text(dateBox('filter-from').querySelector('.any-date'))).toBe('Any date')
  type(view.$('#filter-from'), '2026-03-05')
  await vi.waitFor(() => expect(dateBox('filter-from').querySelector('.any-date')).toBeNull())
  expect(dateBox('filter-from').getAttribute('data-empty')).toBe('false')
  expect(dateBox('filter-to').getAttribute('data-empty')).toBe('true')
  type(view.$('#filter-to'), '2026-03-01')
  await vi.waitFor(() => expect(text(view!.$('.filters [role="alert"]'))).toContain('start date is after the end date'))
  expect(backend.calls.slice(calls).some(([m]) => m === 'activityQuery')).toBe(false)
})

it('takes filters from the link', async () => {
  const backend = createMockBackend(seeded(8))
  view = renderApp(backend, '#/activity?subject=ada%40example.com')
  await vi.waitFor(() => expect(text(view!.$('#activity-total'))).toBe('2'))
  expect(view.$<HTMLInputElement>('#filter-subject')?.value).toBe('ada@example.com')
})

it('shows new events live and announces them', async () => {
  const fixtures = seeded(3)
  const backend = createMockBackend(fixtures)
  view = renderApp(backend, '#/activity')
  await vi.waitFor(() => expect(text(view!.$('#activity-total'))).toBe('3'))
  await vi.waitFor(() => expect(backend.listenerCount()).toBe(1))

  fixtures.rows.push(activity(4, { event_type: 'stripe:invoice.paid' }), activity(5))
  backend.emit('activity-changed', 2)
  await vi.waitFor(() => expect(text(view!.$('#activity-total'))).toBe('5'))
  expect(view.$('#activity-table tr[data-event-id]')?.getAttribute('data-event-id')).toBe('evt_5')
  expect(text(view.$('[aria-live="polite"]'))).toBe('2 new events received')
})

it('opens the detail drawer with the minimised fields and the linked subject', async () => {
  const backend = createMockBackend(seeded())
  view = renderApp(backend, '#/activity')
  await vi.waitFor(() => expect(view!.$('tr[data-event-id="evt_117"]')).not.toBeNull())
  const opener = view.$<HTMLButtonElement>('tr[data-event-id="evt_117"] .open-event')!
  click(opener)
  await vi.waitFor(() => expect(text(view!.$('#activity-drawer'))).toContain('cus_ada'))
  const drawer = text(view.$('#activity-drawer'))
  expect(drawer).toContain('evt_117')
  expect(drawer).toContain('Currency EUR')
  expect(drawer).toContain('Ada Lovelace')
  expect(view.$('#activity-drawer a')?.getAttribute('href')).toBe('#/subjects/1')
  expect(document.activeElement?.id).toBe('drawer-title')

  window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }))
  await vi.waitFor(() => expect(view!.$('#activity-drawer')).toBeNull())
  expect(document.activeElement).toBe(opener)
})

it('exports the filtered log to the chosen file', async () => {
  const backend = createMockBackend({ ...seeded(), chooseSavePath: '/home/officer/activity.csv' })
  view = renderApp(backend, '#/activity')
  await vi.waitFor(() => expect(text(view!.$('#activity-total'))).toBe('120'))
  type(view.$('#filter-type'), 'charge.*')
  await vi.waitFor(() => expect(text(view!.$('#activity-total'))).toBe('30'))

  click(view.$('#export-csv'))
  await vi.waitFor(() => expect(text(view!.$('main'))).toContain('Exported 30 rows to /home/officer/activity.csv'))
  const [, [query, path]] = backend.calls.find(([m]) => m === 'activityExportCsv')! as [string, [ActivityQuery, string]]
  expect(path).toBe('/home/officer/activity.csv')
  expect(query).toMatchObject({ event_type: 'charge.*', cursor: null })
  const [, [defaultName]] = backend.calls.find(([m]) => m === 'chooseSavePath')! as [string, [string]]
  expect(defaultName).toMatch(/^processing-activity-\d{4}-\d{2}-\d{2}\.csv$/)
})

it('does nothing when the save dialog is cancelled, and shows export errors', async () => {
  const backend = createMockBackend({ ...seeded(3), chooseSavePath: null })
  view = renderApp(backend, '#/activity')
  await vi.waitFor(() => expect(text(view!.$('#activity-total'))).toBe('3'))
  click(view.$('#export-csv'))
  await vi.waitFor(() => expect(backend.calls.some(([m]) => m === 'chooseSavePath')).toBe(true))
  await vi.waitFor(() => expect(view!.$<HTMLButtonElement>('#export-csv')?.disabled).toBe(false))
  expect(backend.calls.some(([m]) => m === 'activityExportCsv')).toBe(false)

  backend.fixtures.chooseSavePath = '/read-only/x.csv'
  backend.failNext('activityExportCsv', { code: 'io', message: 'cannot write /read-only/x.csv: permission denied' })
  click(view.$('#export-csv'))
  await vi.waitFor(() => expect(text(view!.$('[role="alert"]'))).toContain('permission denied'))
})

it('says what to do when the log is empty', async () => {
  view = renderApp(createMockBackend(), '#/activity')
  await vi.waitFor(() => expect(text(view!.$('main'))).toContain('No events yet'))
  expect(text(view.$('#activity-total'))).toBe('0')
})

/** The drawer for people: one charge.refunded and one customer.updated, as the backend stores them. */
function drawerFixtures(): Fixtures {
  const refund = activity(1, { event_type: 'stripe:charge.refunded', event_id: 'evt_3SRzQ2LsYdVw9kXp0RefundEvent01', status: 'linked', subject_id: 2 })
  const update = activity(2, { event_type: 'stripe:customer.updated', status: 'linked', subject_id: 2 })
  const data: Record<number, JsonValue> = {
    1: {
      object: 'charge',
      object_id: 'ch_3SRzQ2LsYdVw9kXp0ChargeLongId',
      customer_ref: 'cus_TOxPq7u1bC9d2E',
      fields: {
        id: 'ch_3SRzQ2LsYdVw9kXp0ChargeLongId',
        created: 1762799043,
        amount: 4500,
        amount_refunded: 4500,
        currency: 'usd',
        status: 'succeeded',
        refunded: true,
        customer: 'cus_TOxPq7u1bC9d2E',
      },
      previous: { amount_refunded: 0, refunded: false },
      subject: { email: 'bruno.keller@example.net', name: 'Bruno Keller' },
      observed: ['email', 'name', 'phone', 'payment_card'],
    },
    2: {
      object: 'customer',
      object_id: 'cus_TOxPq7u1bC9d2E',
      customer_ref: 'cus_TOxPq7u1bC9d2E',
      fields: { id: 'cus_TOxPq7u1bC9d2E', created: 1762799043, currency: 'jpy' },
      subject: { email: 'bruno.keller@example.net', previous_email: 'bruno@old.example', name: 'Bruno Keller', is_profile: true },
      observed: ['email', 'name'],
    },
  }
  return {
    ...processorFixtures([stripeProcessor(1, { status: 'interconnected' })]),
    activityQuery: (q) => pageOf([update, refund], q),
    activityDetail: (id) => ({ activity: id === 1 ? refund : update, data: data[id], subject: null }),
  }
}

async function openDrawer(eventId: string) {
  await vi.waitFor(() => expect(view!.$(`tr[data-event-id="${eventId}"]`)).not.toBeNull())
  click(view!.$(`tr[data-event-id="${eventId}"] .open-event`))
  await vi.waitFor(() => expect(view!.$('#activity-drawer [data-group]')).not.toBeNull())
  return view!.$('#activity-drawer')!
}

const field = (key: string) => view!.$(`#activity-drawer [data-field="${key}"]`)

it('shows an event for people: money, times, groups, before/after, what was not kept', async () => {
  view = renderApp(createMockBackend(drawerFixtures()), '#/activity')
  const drawer = await openDrawer('evt_3SRzQ2LsYdVw9kXp0RefundEvent01')

  expect(view.$$('#activity-drawer [data-group] h3').map(text)).toEqual(['Who', 'What', 'Amounts', 'Status', 'When'])
  expect(text(field('amount'))).toBe('$45.00')
  expect(text(field('amount_refunded'))).toMatch(/^\$0\.00 → changed to \$45\.00$/)
  expect(text(field('refunded'))).toMatch(/^No → changed to Yes$/)
  expect(text(drawer)).toContain('This update changed 2 fields')
  expect(text(drawer)).not.toContain('4500')
  expect(text(drawer)).not.toMatch(/\busd\b/)

  // Each id once, whole, with its full value on hover and a copy button.
  const ids = view.$$('#activity-drawer code.id').map((c) => c.getAttribute('data-id'))
  expect(ids.filter((i) => i === 'cus_TOxPq7u1bC9d2E')).toHaveLength(1)
  expect(ids.filter((i) => i === 'ch_3SRzQ2LsYdVw9kXp0ChargeLongId')).toHaveLength(1)
  const eventId = field('event_id')!.querySelector('code.id')!
  expect(eventId.textContent).toBe('evt_3SRzQ2LsYdVw9kXp0RefundEvent01')
  expect(eventId.getAttribute('title')).toBe('evt_3SRzQ2LsYdVw9kXp0RefundEvent01')

  // Times in the user's zone, the UTC time on hover; Stripe's unix seconds converted.
  const created = field('created')!.querySelector('time')!
  expect(created.getAttribute('title')).toBe('2025-11-10 18:24:03 UTC')
  expect(created.getAttribute('datetime')).toBe('2025-11-10T18:24:03.000Z')
  expect(text(created)).toContain('2025')
  expect(field('occurred_at')!.querySelector('time')!.getAttribute('title')).toBe('2026-03-01 12:00:01 UTC')

  expect(text(view.$('#not-kept'))).toContain('This event carried phone number and card details, which Privacy Desk did not keep.')
})

it("shows a customer.updated's old email and the customer id once", async () => {
  view = renderApp(createMockBackend(drawerFixtures()), '#/activity')
  await openDrawer('evt_2')
  expect(text(field('subject.email'))).toBe('bruno@old.example → changed to bruno.keller@example.net')
  expect(text(field('subject.name'))).toBe('Bruno Keller')
  expect(view.$$('#activity-drawer code.id').map((c) => c.getAttribute('data-id'))).toEqual(['cus_TOxPq7u1bC9d2E', 'evt_2'])
  expect(text(field('currency'))).toBe('JPY')
  expect(text(view.$('#not-kept'))).toMatch(/^Privacy Desk never keeps card details/)
})

it('copies an id, and says how when the clipboard is not available', async () => {
  const writeText = vi.fn(async () => {})
  Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true })
  try {
    view = renderApp(createMockBackend(drawerFixtures()), '#/activity')
    await openDrawer('evt_2')
    click(field('event_id')!.querySelector('button'))
    await vi.waitFor(() => expect(text(field('event_id'))).toContain('Copied'))
    expect(writeText).toHaveBeenCalledWith('evt_2')

    writeText.mockRejectedValueOnce(new Error('denied'))
    click(field('customer')!.querySelector('button'))
    await vi.waitFor(() => expect(text(field('customer'))).toContain('Copying is not available here'))
    expect(window.getSelection()?.toString()).toBe('cus_TOxPq7u1bC9d2E')
  } finally {
    Reflect.deleteProperty(navigator, 'clipboard')
  }
})
