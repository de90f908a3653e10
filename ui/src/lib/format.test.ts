import { describe, expect, it } from 'vitest'
import { PROCESSOR_STATUS, humanise, maskToken, readMinimised, splitEventType, statusInfo } from './format'

describe('format', () => {
  it('labels known and unknown statuses', () => {
    expect(statusInfo(PROCESSOR_STATUS, 'interconnected')).toEqual({ label: 'Interconnected', tone: 'good' })
    expect(statusInfo(PROCESSOR_STATUS, 'awaiting_first_event').label).toBe('Awaiting first event')
    expect(statusInfo(PROCESSOR_STATUS, 'paused_by_user')).toEqual({ label: 'Paused by user', tone: 'neutral' })
    expect(humanise('')).toBe('—')
  })

  it('splits namespaced event types', () => {
    expect(splitEventType('stripe:customer.created')).toEqual({ source: 'stripe', type: 'customer.created' })
    expect(splitEventType('customer.created')).toEqual({ source: null, type: 'customer.created' })
  })

  it('hides the token of a webhook URL', () => {
    expect(maskToken('http://127.0.0.1:8787/webhooks/stripe/ab12?token=s3cr3t')).toBe(
      'http://127.0.0.1:8787/webhooks/stripe/ab12?token=••••••',
    )
  })

  it('reads the minimised document defensively', () => {
    const m = readMinimised({
      object: 'charge',
      object_id: 'ch_1',
      customer_ref: 'cus_1',
      fields: { amount: 1200, paid: true, outcome: { type: 'authorized' }, failure_code: null },
      subject: { email: 'ada@example.com', address: { line1: '1 Main St', city: 'Berlin', state: null } },
      observed: ['email', 'address', 3],
    })
    expect(m.object).toBe('charge')
    expect(m.fields).toEqual([
      ['amount', '1200'],
      ['paid', 'true'],
      ['outcome.type', 'authorized'],
      ['failure_code', '—'],
    ])
    expect(m.subject).toEqual({ email: 'ada@example.com', name: null, address: '1 Main St, Berlin', previousEmail: null })
    expect(m.observed).toEqual(['email', 'address'])

    expect(readMinimised(null)).toEqual({ object: null, objectId: null, customerRef: null, fields: [], subject: null, observed: [] })
    expect(readMinimised({ subject: {} }).subject).toBeNull()
  })
})
