import { describe, expect, it } from 'vitest'
import { fieldLabel, fieldRows, fieldValue, recordWords, reviewStepNote, reviewSummary, staleWithheld, valueText, withheldReason, withheldTarget, withholdReady } from './review'
import { stepNote } from './requests'
import type { AccessReview, GroundInfo, ReviewRecord, Withheld } from './types'

const US = { locale: 'en-US', timeZone: 'UTC' }

const GROUNDS: GroundInfo[] = [
  { value: 'other_person', label: "Another person's data (Art. 15(4))", needs_text: false },
  { value: 'legal_privilege', label: 'Legal privilege', needs_text: false },
  { value: 'other', label: 'Another reason (say which)', needs_text: true },
]

function rec(id: string, data: Record<string, unknown>, fields: string[], over: Partial<ReviewRecord> = {}): ReviewRecord {
  return { id, data, fields, withheld: false, withheld_fields: [], ...over }
}

function withheld(over: Partial<Withheld> = {}): Withheld {
  return { record_id: 'activity:evt_1', field: null, ground: 'other_person', ground_label: GROUNDS[0].label, text: null, at: '2026-01-05T10:00:00Z', in_package: true, ...over }
}

describe('records in plain words', () => {
  it('says what an activity record is, when, how much and its id', () => {
    const w = recordWords(
      'activity',
      { event_type: 'stripe:charge.succeeded', event_id: 'evt_1', object_id: 'ch_1', occurred_at: '2026-01-05T10:00:00Z', details: { amount: 4500, currency: 'usd' } },
      US,
    )
    expect(w.type).toBe('Charge succeeded')
    expect(w.amount).toBe('$45.00')
    expect(w.id).toBe('evt_1')
    expect(w.detail).toBe('ch_1')
    expect(w.date?.utc).toBe('2026-01-05 10:00:00 UTC')
  })

  it('reads Stripe objects: unix seconds, amounts in their currency, card brand and last 4', () => {
    const charge = recordWords('stripe_charges', { id: 'ch_9', created: 1767607200, amount: 1250, currency: 'eur', status: 'succeeded' }, US)
    expect(charge).toMatchObject({ type: 'Charge', id: 'ch_9', amount: '€12.50', detail: 'Succeeded' })
    expect(charge.date?.iso).toBe('2026-01-05T10:00:00.000Z')
    expect(recordWords('stripe_invoices', { id: 'in_1', number: 'A-7', total: 900, currency: 'jpy', status: 'paid' }, US)).toMatchObject({ type: 'Invoice', amount: '¥900', detail: 'No. A-7 · Paid' })
    expect(recordWords('stripe_payment_methods', { id: 'pm_1', brand: 'visa', last4: '4242' }, US).detail).toBe('Visa •••• 4242')
    expect(recordWords('stripe_customer', { id: 'cus_1', name: 'Zoe Tester', created: 1767607200 }, US)).toMatchObject({ type: 'Stripe customer', detail: 'Zoe Tester', id: 'cus_1' })
  })

  it('names the local records and a request', () => {
    expect(recordWords('profile', { name: 'Zoe', email: 'z@example.org' }, US)).toMatchObject({ type: 'Profile', detail: 'Zoe', id: null, amount: null })
    expect(recordWords('email_history', { email: 'old@example.org', replaced_at: '2026-01-01T00:00:00Z' }, US)).toMatchObject({ type: 'Earlier email address', detail: 'old@example.org' })
    expect(recordWords('requests', { id: 7, kind: 'access', status: 'in_progress', received_at: '2026-01-05T00:00:00Z' }, US)).toMatchObject({ type: 'Access request', id: '#7', detail: 'In progress' })
    expect(recordWords('something_new', {}, US)).toMatchObject({ type: 'Something new', date: null, amount: null, id: null })
  })
})

describe('fields', () => {
  const r = rec(
    'activity:evt_1',
    { event_id: 'evt_1', personal_data: { name: 'Quentin', address: { city: 'Lyon' } }, paid: true, tags: [] },
    ['event_id', 'personal_data', 'personal_data.name', 'personal_data.address', 'paid', 'tags'],
    { withheld_fields: ['personal_data.name'] },
  )

  it('labels and reads nested fields as the backend names them', () => {
    expect(fieldLabel('personal_data.name')).toBe('Personal data › Name')
    expect(fieldValue(r.data, 'personal_data.name')).toBe('Quentin')
    expect(fieldValue({ 'a.b': 1 }, 'a.b')).toBe(1)
    expect(fieldValue(r.data, 'nope')).toBeUndefined()
    expect(valueText({ city: 'Lyon', country: '' })).toBe('City: Lyon')
    expect(valueText([])).toBe('—')
    expect(valueText(false)).toBe('No')
  })

  it('shows an object by its fields, and marks what is withheld', () => {
    const rows = fieldRows(r)
    expect(rows.map((x) => x.field)).toEqual(['event_id', 'personal_data.name', 'personal_data.address', 'paid', 'tags'])
    expect(rows.find((x) => x.field === 'personal_data.name')).toMatchObject({ withheld: true, text: 'Quentin', label: 'Personal data › Name' })
    expect(rows.find((x) => x.field === 'paid')).toMatchObject({ withheld: false, text: 'Yes' })
    const whole = fieldRows({ ...r, withheld: true })
    expect(whole.every((x) => x.withheld)).toBe(true)
    const parent = fieldRows({ ...r, withheld_fields: ['personal_data'] })
    expect(parent.filter((x) => x.withheld).map((x) => x.field)).toEqual(['personal_data.name', 'personal_data.address'])
  })
})

describe('withholding', () => {
  it('needs a ground, and the words where the ground asks for them', () => {
    expect(withholdReady('', '', GROUNDS)).toBe(false)
    expect(withholdReady('other_person', '', GROUNDS)).toBe(true)
    expect(withholdReady('other', '  ', GROUNDS)).toBe(false)
    expect(withholdReady('other', 'an open investigation', GROUNDS)).toBe(true)
    expect(withholdReady('made_up', 'x', GROUNDS)).toBe(false)
  })

  it('says what is withheld and why', () => {
    expect(withheldTarget(withheld())).toBe('activity:evt_1')
    expect(withheldTarget(withheld({ field: 'personal_data.name' }))).toBe('Personal data › Name of activity:evt_1')
    expect(withheldReason(withheld())).toBe("Another person's data (Art. 15(4))")
    expect(withheldReason(withheld({ ground: 'other', ground_label: GROUNDS[2].label, text: 'an open investigation' }))).toBe('an open investigation')
  })

  it('sums the review up, before and after the release', () => {
    const review: AccessReview = {
      request_id: 1,
      state: { built: true, released: false, withheld: 2 },
      path: '/tmp/access-request-1.zip',
      sha256: 'ab',
      built_at: '2026-01-05T10:00:00Z',
      released_at: null,
      stripe: 'live',
      files: [],
      categories: [
        { name: 'profile', title: 'Profile', records: [rec('profile:1', {}, [])] },
        { name: 'activity', title: 'Activity', records: [rec('activity:evt_1', {}, []), rec('activity:evt_2', {}, [])] },
        { name: 'stripe_charges', title: 'Charges', records: [] },
      ],
      withheld: [withheld(), withheld({ record_id: 'activity:evt_2', field: 'name', in_package: false })],
      grounds: GROUNDS,
    }
    expect(reviewSummary(review)).toBe('3 records in 2 categories. Withheld so far: 1 record and 1 detail.')
    expect(staleWithheld(review).map((w) => w.record_id)).toEqual(['activity:evt_2'])
    expect(reviewSummary({ ...review, withheld: [] })).toBe('3 records in 2 categories. Nothing is withheld.')
    expect(reviewSummary({ ...review, state: { ...review.state, released: true } })).toBe('Released: 3 records in 2 categories; 1 record and 1 detail withheld.')
  })

  it('shows the review steps of the trail in words', () => {
    const step = (action: string, details: Record<string, unknown>) => ({ action, details })
    expect(reviewStepNote(step('access.withheld', { record_id: 'activity:evt_1', field: null, ground: 'other_person', reason: null }))).toBe("activity:evt_1 withheld: another person's data")
    expect(reviewStepNote(step('access.withheld', { record_id: 'profile:1', field: 'name', ground: 'other', reason: 'an open case' }))).toBe('Name of profile:1 withheld: an open case')
    expect(reviewStepNote(step('access.unwithheld', { record_id: 'profile:1', field: null, ground: 'legal_privilege' }))).toBe('profile:1 no longer withheld')
    expect(reviewStepNote(step('access.released', { sha256: 'ab', withheld_records: 1, withheld_fields: 2 }))).toBe('Released with 1 record and 2 details withheld')
    expect(stepNote(step('access.released', { sha256: 'ab', withheld_records: 0, withheld_fields: 0 }))).toBe('Released with nothing withheld')
  })
})
