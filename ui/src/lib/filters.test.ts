import { describe, expect, it } from 'vitest'
import {
  EMPTY_FILTERS,
  PAGE_SIZE,
  TYPE_GROUPS,
  appendPage,
  buildQuery,
  dateRange,
  dayStartRfc3339,
  exportQuery,
  filterProblem,
  formFromParams,
  hasActiveFilters,
  nextDay,
  normaliseEventType,
  paramsFromForm,
  parseDay,
  reloadLimit,
  sourcesFromProcessors,
  typeMatches,
  type FilterForm,
} from './filters'
import { activity, stripeProcessor } from '../test/fixtures'

const form = (over: Partial<FilterForm> = {}): FilterForm => ({ ...EMPTY_FILTERS, ...over })
/** Central European time: UTC+1 in winter, UTC+2 from the last Sunday of March. */
const berlin = (y: number, m: number, d: number) => (m > 3 || (m === 3 && d >= 29) ? -120 : -60)
const utc = () => 0

describe('buildQuery', () => {
  it('turns an empty form into a query for everything, first page', () => {
    expect(buildQuery(form())).toEqual({
      source: null,
      event_type: null,
      subject: null,
      since: null,
      until: null,
      status: null,
      cursor: null,
      limit: PAGE_SIZE,
    })
  })

  it('combines every filter, trimmed', () => {
    const q = buildQuery(
      form({
        source: 'stripe',
        eventType: ' customer.* ',
        subject: '  Ada@Example.com ',
        from: '2026-03-01',
        to: '2026-03-05',
        status: 'linked',
      }),
      { offsetAt: utc },
    )
    expect(q).toEqual({
      source: 'stripe',
      event_type: 'customer.*',
      subject: 'Ada@Example.com',
      since: '2026-03-01T00:00:00Z',
      until: '2026-03-06T00:00:00Z',
      status: 'linked',
      cursor: null,
      limit: PAGE_SIZE,
    })
  })

  it('treats whitespace-only fields as empty', () => {
    const q = buildQuery(form({ source: ' ', eventType: '  ', subject: '\t', status: '' }))
    expect([q.source, q.event_type, q.subject, q.status]).toEqual([null, null, null, null])
  })

  it('carries the cursor and limit for "Load more"', () => {
    const q = buildQuery(form({ eventType: 'invoice.*' }), { cursor: 'abc', limit: 10 })
    expect(q.cursor).toBe('abc')
    expect(q.limit).toBe(10)
    expect(q.event_type).toBe('invoice.*')
  })

  it('refuses a form with a problem', () => {
    expect(() => buildQuery(form({ from: '2026-03-05', to: '2026-03-01' }))).toThrow(/after the end/)
  })

  it('exports the same filter without cursor and without a limit', () => {
    const q = exportQuery(form({ eventType: 'charge.*', subject: 'ada' }), utc)
    expect(q).toMatchObject({ event_type: 'charge.*', subject: 'ada', cursor: null, limit: 0 })
  })
})

describe('event type groups', () => {
  it('offers the Stripe families as globs', () => {
    expect(TYPE_GROUPS.map((g) => g.glob)).toEqual([
      'customer.*',
      'customer.subscription.*',
      'charge.*',
      'payment_intent.*',
      'invoice.*',
      'checkout.session.*',
    ])
  })

  it('passes a group glob through unchanged', () => {
    for (const g of TYPE_GROUPS) expect(buildQuery(form({ eventType: g.glob })).event_type).toBe(g.glob)
  })

  it('reads a trailing dot as the whole family', () => {
    expect(normaliseEventType('invoice.')).toBe('invoice.*')
    expect(normaliseEventType('customer.subscription.')).toBe('customer.subscription.*')
  })

  it('keeps exact types and source prefixes as typed', () => {
    expect(normaliseEventType('customer.created')).toBe('customer.created')
    expect(normaliseEventType('stripe:charge.*')).toBe('stripe:charge.*')
    expect(normaliseEventType('')).toBeNull()
  })

  it('matches like the backend: * spans dots, other characters are literal', () => {
    expect(typeMatches('customer.*', 'stripe:customer.created')).toBe(true)
    expect(typeMatches('customer.*', 'stripe:customer.subscription.updated')).toBe(true)
    expect(typeMatches('customer.subscription.*', 'stripe:customer.updated')).toBe(false)
    expect(typeMatches('charge.*', 'stripe:charge.refund.updated')).toBe(true)
    expect(typeMatches('checkout.session.*', 'stripe:checkout.session.completed')).toBe(true)
    expect(typeMatches('payment_intent.*', 'stripe:payment_intent.succeeded')).toBe(true)
    expect(typeMatches('invoice.*', 'stripe:invoiceXpaid')).toBe(false)
    expect(typeMatches('invoice.paid', 'stripe:invoice.paid')).toBe(true)
    expect(typeMatches('invoice.paid', 'stripe:invoice.paid_out')).toBe(false)
    expect(typeMatches('stripe:invoice.*', 'acme:invoice.paid')).toBe(false)
    expect(typeMatches('*', 'acme:Create')).toBe(true)
  })
})

describe('date range', () => {
  it('parses only real calendar days', () => {
    expect(parseDay('2026-02-28')).toEqual({ y: 2026, m: 2, d: 28 })
    expect(parseDay('2026-02-30')).toBeNull()
    expect(parseDay('2026-2-3')).toBeNull()
    expect(parseDay('yesterday')).toBeNull()
  })

  it('gives the next day across month and year ends', () => {
    expect(nextDay('2026-01-31')).toBe('2026-02-01')
    expect(nextDay('2024-02-28')).toBe('2024-02-29')
    expect(nextDay('2026-12-31')).toBe('2027-01-01')
  })

  it('turns a local day into the RFC 3339 instant of its local midnight', () => {
    expect(dayStartRfc3339('2026-03-05', utc)).toBe('2026-03-05T00:00:00Z')
    expect(dayStartRfc3339('2026-03-05', berlin)).toBe('2026-03-04T23:00:00Z')
    expect(dayStartRfc3339('2026-07-01', berlin)).toBe('2026-06-30T22:00:00Z')
    // New York is behind UTC: local midnight is later in UTC.
    expect(dayStartRfc3339('2026-01-10', () => 300)).toBe('2026-01-10T05:00:00Z')
  })

  it('makes "to" inclusive: until is the start of the following day', () => {
    expect(dateRange('2026-03-01', '2026-03-01', berlin)).toEqual({
      since: '2026-02-28T23:00:00Z',
      until: '2026-03-01T23:00:00Z',
    })
  })

  it('follows a daylight-saving change inside the range', () => {
    expect(dateRange('2026-03-28', '2026-03-29', berlin)).toEqual({
      since: '2026-03-27T23:00:00Z',
      until: '2026-03-29T22:00:00Z',
    })
  })

  it('leaves open ends open', () => {
    expect(dateRange('', '2026-03-01', utc)).toEqual({ since: null, until: '2026-03-02T00:00:00Z' })
    expect(dateRange('2026-03-01', '', utc)).toEqual({ since: '2026-03-01T00:00:00Z', until: null })
  })

  it('uses the local time zone by default and always emits RFC 3339 UTC', () => {
    const q = buildQuery(form({ from: '2026-03-01', to: '2026-03-02' }))
    expect(q.since).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
    expect(Date.parse(q.since!)).toBe(new Date(2026, 2, 1).getTime())
    expect(Date.parse(q.until!)).toBe(new Date(2026, 2, 3).getTime())
  })
})

describe('filterProblem', () => {
  it('accepts an empty or a sensible form', () => {
    expect(filterProblem(form())).toBeNull()
    expect(filterProblem(form({ from: '2026-03-01', to: '2026-03-01' }))).toBeNull()
  })

  it('names the problem', () => {
    expect(filterProblem(form({ from: '2026-03-02', to: '2026-03-01' }))).toMatch(/start date is after/)
    expect(filterProblem(form({ from: '2026-13-01' }))).toMatch(/start date is not/)
    expect(filterProblem(form({ to: 'soon' }))).toMatch(/end date is not/)
    expect(filterProblem(form({ eventType: 'customer created' }))).toMatch(/no spaces/)
  })
})

describe('form helpers', () => {
  it('knows when any filter is set', () => {
    expect(hasActiveFilters(form())).toBe(false)
    expect(hasActiveFilters(form({ subject: ' ' }))).toBe(false)
    expect(hasActiveFilters(form({ status: 'linked' }))).toBe(true)
  })

  it('round-trips filters through link parameters', () => {
    const f = form({ eventType: 'customer.*', subject: 'ada@example.com', from: '2026-03-01' })
    const params = paramsFromForm(f)
    expect(params.toString()).toBe('type=customer.*&subject=ada%40example.com&from=2026-03-01')
    expect(formFromParams(params)).toEqual(f)
  })

  it('lists sources: stripe once, webhook processors by name, manual ones not at all', () => {
    const ps = [
      stripeProcessor(1),
      stripeProcessor(2, { name: 'Stripe EU' }),
      stripeProcessor(3, { kind: 'webhook', name: 'quickbooks' }),
      stripeProcessor(4, { kind: 'manual', name: 'Mailchimp' }),
    ]
    expect(sourcesFromProcessors(ps)).toEqual(['quickbooks', 'stripe'])
  })

  it('appends a page without repeating rows', () => {
    const merged = appendPage([activity(3), activity(2)], [activity(2), activity(1)])
    expect(merged.map((a) => a.id)).toEqual([3, 2, 1])
  })

  it('reloads at least a page and at most a bound after a live update', () => {
    expect(reloadLimit(0)).toBe(PAGE_SIZE)
    expect(reloadLimit(120)).toBe(120)
    expect(reloadLimit(5000)).toBe(500)
  })
})
