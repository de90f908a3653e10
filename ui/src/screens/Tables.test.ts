// Tables that fit the window (issue 20): every list screen's table is laid out by its header
// (`fit`), long values (emails, names, event ids) are cut to one line with the whole value in
// the tooltip, and dates read in the locale's one format. The widths themselves are measured
// in the real window by the e2e screen tour (`scrollWidth ≤ clientWidth` at 1000 and 1200 px).
import { afterEach, describe, expect, it, vi } from 'vitest'
import { formatDay } from '../lib/format'
import { emptyFields } from '../lib/ropa'
import type { ProcessingActivity } from '../lib/types'
import { renderApp, text } from '../test/app'
import { emptyRopa, processorFixtures, request, stripeProcessor } from '../test/fixtures'
import { createMockBackend, type Fixtures } from '../test/mockIpc'

let view: ReturnType<typeof renderApp> | null = null
afterEach(() => {
  view?.destroy()
  view = null
})

const LONG_EMAIL = 'maximiliane.von-und-zu-hohenberg-schwarzenfels@kanzlei-beispiel.example'
const LONG_NAME = 'Maximiliane Alexandra Theodora von und zu Hohenberg-Schwarzenfels'
const LONG_PROCESSOR = 'Stripe (EU account for the online shop and the market stall)'
const EVENT_ID = 'evt_test_65S3VuZJtzDw7zmtGa3G8BPklTWXjoH83gxfkeQCSeG'

function activityRow(): ProcessingActivity {
  return {
    id: 1,
    default_key: 'stripe:payments',
    fields: {
      ...emptyFields(),
      purpose: 'Taking payments for orders and subscriptions',
      lawful_basis: 'Art. 6(1)(b) contract',
      data_categories: ['email', 'name'],
      retention: '10 years',
      last_review: '2026-02-14',
    },
    processor_ids: [1],
    processors: ['Stripe'],
    observed: ['email'],
    updated_at: '2026-03-01T00:00:00Z',
  }
}

function fixtures(): Fixtures {
  const ropa = emptyRopa()
  ropa.activities = [activityRow()]
  ropa.checklist[0] = { ...ropa.checklist[0], done_on: '2026-03-02' }
  return {
    ...processorFixtures([
      stripeProcessor(1, { name: LONG_PROCESSOR, status: 'interconnected', last_event_at: '2026-03-01T12:00:00Z' }),
    ]),
    subjectsSearch: [{ id: 7, email: LONG_EMAIL, name: LONG_NAME, created_at: '2026-03-01T12:00:00Z', activity_count: 3, status: 'active' }],
    requestsList: [request(3, { email: LONG_EMAIL, regime: 'uk-gdpr' })],
    deliveriesList: [
      { received_at: '2026-03-01T12:00:00Z', status_code: 200, outcome: 'accepted', reason: null, event_id: EVENT_ID, processor_id: 1, hint: null },
    ],
    ropaReport: ropa,
  }
}

/** Every data table on the screen is a `fit` table whose header cells are column headers. */
function expectFitTables(): void {
  const tables = view!.$$('#main table.data')
  expect(tables.length).toBeGreaterThan(0)
  for (const t of tables) {
    expect(t.classList.contains('fit'), `#${t.id} is laid out by its header`).toBe(true)
    for (const th of t.querySelectorAll('thead th')) expect(th.getAttribute('scope')).toBe('col')
  }
}

/** The cell holding `value` keeps to one line and shows the whole value on hover. */
function expectCut(css: string, value: string): void {
  const cell = view!.$(css)
  expect(cell, css).not.toBeNull()
  expect(cell!.classList.contains('cut'), `${css} is cut with an ellipsis`).toBe(true)
  expect(cell!.getAttribute('title')).toBe(value)
  expect(text(cell)).toContain(value)
}

describe('tables that fit', () => {
  it('Processors: the name is cut with a tooltip, the kind under it, no Kind column', async () => {
    view = renderApp(createMockBackend(fixtures()), '#/processors')
    await vi.waitFor(() => expect(view!.$$('#processors-table tbody tr')).toHaveLength(1))
    expectFitTables()
    expectCut('#processors-table tbody th', LONG_PROCESSOR)
    expect(text(view.$('#processors-table tbody th .sub'))).toBe('Stripe')
    const headers = view.$$('#processors-table thead th').map((th) => text(th))
    expect(headers).not.toContain('Kind')
  })

  it('Data subjects: a long email and name are cut with tooltips', async () => {
    view = renderApp(createMockBackend(fixtures()), '#/subjects')
    await vi.waitFor(() => expect(view!.$$('#subjects-table tbody tr')).toHaveLength(1))
    expectFitTables()
    expectCut('#subjects-table tbody td:nth-child(1)', LONG_EMAIL)
    expectCut('#subjects-table tbody td:nth-child(2)', LONG_NAME)
  })

  it('Requests: the same table as the others, the law under the request, the email cut', async () => {
    view = renderApp(createMockBackend(fixtures()), '#/requests')
    await vi.waitFor(() => expect(view!.$$('#requests-table tbody tr')).toHaveLength(1))
    expectFitTables()
    expect(text(view.$('#requests-table tbody td:nth-child(1)'))).toContain('UK GDPR')
    expectCut('#requests-table tbody td:nth-child(2)', LONG_EMAIL)
    expect(text(view.$('#requests-table tbody time'))).toBe(formatDay('2099-01-31', true))
  })

  it('Deliveries: processor and event id in one column, the id cut with a tooltip', async () => {
    view = renderApp(createMockBackend(fixtures()), '#/deliveries')
    await vi.waitFor(() => expect(view!.$$('#deliveries-table tbody tr')).toHaveLength(1))
    expectFitTables()
    expectCut('#deliveries-table tbody td:last-child', EVENT_ID)
    expect(text(view.$('#deliveries-table tbody td:last-child'))).toContain(LONG_PROCESSOR)
  })

  it('Reports: the RoPA and checklist tables are data tables; the last review reads as a date', async () => {
    view = renderApp(createMockBackend(fixtures()), '#/reports')
    await vi.waitFor(() => expect(view!.$$('#ropa-activities tbody tr')).toHaveLength(1))
    expectFitTables()
    expect(view.$$('#main table.data').map((t) => t.id)).toEqual(['ropa-activities', 'ropa-checklist'])
    const row = text(view.$('#ropa-activities tbody tr'))
    expect(row).toContain(formatDay('2026-02-14', true))
    expect(row).not.toContain('2026-02-14')
  })
})
