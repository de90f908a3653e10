import { describe, expect, it } from 'vitest'
import { NEVER_KEPT, addressText, eventView, formatMoney, formatTime, minorUnitDigits, notKeptSentence, toDate, type Row } from './eventView'

const US = { locale: 'en-US', timeZone: 'America/New_York' }
const DE = { locale: 'de-DE', timeZone: 'Europe/Berlin' }
// Intl writes a narrow no-break space in some places; compare with plain spaces.
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ')

describe('money', () => {
  it('knows the minor units of each currency (ISO 4217)', () => {
    expect(minorUnitDigits('usd')).toBe(2)
    expect(minorUnitDigits('JPY')).toBe(0)
    expect(minorUnitDigits('kwd')).toBe(3)
    expect(minorUnitDigits('xyz')).toBeNull()
    expect(minorUnitDigits('dollars')).toBeNull()
    expect(minorUnitDigits('')).toBeNull()
    expect(minorUnitDigits(null)).toBeNull()
  })

  it('formats minor units in their currency', () => {
    expect(formatMoney(4500, 'usd', US)).toBe('$45.00')
    expect(formatMoney(4500, 'jpy', US)).toBe('¥4,500')
    expect(plain(formatMoney(4500, 'kwd', US))).toBe('KWD 4.500')
    expect(plain(formatMoney(4500, 'eur', DE))).toBe('45,00 €')
    expect(formatMoney(5, 'usd', US)).toBe('$0.05')
  })

  it('formats negative refunds and zero', () => {
    expect(formatMoney(-1250, 'usd', US)).toBe('-$12.50')
    expect(formatMoney(-5, 'usd', US)).toBe('-$0.05')
    expect(plain(formatMoney(-1250, 'kwd', US))).toBe('-KWD 1.250')
    expect(formatMoney(-300, 'jpy', US)).toBe('-¥300')
    expect(plain(formatMoney(-1250, 'eur', DE))).toBe('-12,50 €')
    expect(formatMoney(0, 'usd', US)).toBe('$0.00')
    expect(formatMoney(0, 'jpy', US)).toBe('¥0')
  })

  it('keeps every digit of huge amounts', () => {
    expect(formatMoney(9007199254740991, 'usd', US)).toBe('$90,071,992,547,409.91')
    expect(plain(formatMoney(9007199254740991, 'kwd', US))).toBe('KWD 9,007,199,254,740.991')
    expect(formatMoney('123456789012345678901', 'usd', US)).toBe('$1,234,567,890,123,456,789.01')
    expect(formatMoney(99999999999999, 'jpy', US)).toBe('¥99,999,999,999,999')
  })

  it('gives the amount and the code for what is not a currency, never an error', () => {
    expect(formatMoney(4500, 'xyz', US)).toBe('4,500 XYZ')
    expect(formatMoney(4500, 'not-a-code', US)).toBe('4,500 NOT-A-CODE')
    expect(formatMoney(4500, null, US)).toBe('4,500')
    expect(formatMoney(45.5, 'usd', US)).toBe('45.5 USD')
    expect(formatMoney(null, 'usd', US)).toBe('—')
  })
})

describe('times', () => {
  it('reads unix seconds, unix ms and RFC 3339 as the same instant', () => {
    const ms = Date.UTC(2025, 10, 10, 18, 24, 3)
    expect(toDate(ms / 1000)?.getTime()).toBe(ms)
    expect(toDate(ms)?.getTime()).toBe(ms)
    expect(toDate('2025-11-10T18:24:03Z')?.getTime()).toBe(ms)
    expect(toDate(String(ms / 1000))?.getTime()).toBe(ms)
    expect(toDate('not a time')).toBeNull()
    expect(toDate(null)).toBeNull()
    expect(toDate(Number.NaN)).toBeNull()
  })

  it('shows the user zone to the second, UTC for the tooltip', () => {
    const t = formatTime(1762799043, US)!
    expect(plain(t.text)).toBe('Nov 10, 2025, 01:24:03 PM EST')
    expect(t.utc).toBe('2025-11-10 18:24:03 UTC')
    expect(t.iso).toBe('2025-11-10T18:24:03.000Z')
    expect(plain(formatTime('2025-11-10T18:24:03Z', DE)!.text)).toBe('10. Nov. 2025, 19:24:03 MEZ')
    expect(formatTime('garbage', US)).toBeNull()
  })
})

const facts = {
  eventType: 'charge.refunded',
  eventId: 'evt_3SRzQ2LsYdVw9kXp0P1a2b3c',
  occurredAt: '2025-11-10T18:24:03Z',
  receivedAt: '2025-11-10T18:24:04Z',
}

const rows = (v: ReturnType<typeof eventView>, g: string) => v.groups.find((x) => x.key === g)?.rows ?? []
const byKey = (v: ReturnType<typeof eventView>) => new Map(v.groups.flatMap((g) => g.rows).map((r) => [r.key, r] as [string, Row]))
const shown = (r: Row | undefined) => (r ? plain(r.value.text) : undefined)

describe('the grouped view', () => {
  const charge = {
    object: 'charge',
    object_id: 'ch_3SRzQ2LsYdVw9kXp0abcdef',
    customer_ref: 'cus_TOxPq7u1bC9d2E',
    fields: {
      id: 'ch_3SRzQ2LsYdVw9kXp0abcdef',
      created: 1762799043,
      amount: 4500,
      amount_refunded: 4500,
      currency: 'usd',
      status: 'succeeded',
      refunded: true,
      customer: 'cus_TOxPq7u1bC9d2E',
      payment_intent: 'pi_3SRzQ2LsYdVw9kXp0',
      type: 'authorized',
    },
    previous: { amount_refunded: 0, refunded: false },
    subject: { email: 'bruno.keller@example.net', name: 'Bruno Keller' },
    observed: ['email', 'name', 'phone', 'payment_card'],
  }

  it('puts each field once in its group', () => {
    const v = eventView(charge, facts, US)
    expect(v.groups.map((g) => g.title)).toEqual(['Who', 'What', 'Amounts', 'Status', 'When'])
    expect(rows(v, 'who').map((r) => r.label)).toEqual(['Name', 'Email', 'Customer'])
    expect(rows(v, 'what').map((r) => r.label)).toEqual(['Event type', 'Object', 'Object id', 'Event id', 'Payment intent'])
    expect(rows(v, 'amounts').map((r) => [r.label, plain(r.value.text)])).toEqual([
      ['Amount', '$45.00'],
      ['Amount refunded', '$45.00'],
    ])
    expect(rows(v, 'status').map((r) => [r.label, r.value.text])).toEqual([
      ['Status', 'Succeeded'],
      ['Refunded', 'Yes'],
      ['Outcome', 'Authorized'],
    ])
    expect(rows(v, 'when').map((r) => r.label)).toEqual(['Occurred', 'Received', 'Created at the processor'])
    const all = v.groups.flatMap((g) => g.rows.map((r) => r.value.text))
    expect(all.filter((t) => t === 'ch_3SRzQ2LsYdVw9kXp0abcdef')).toHaveLength(1)
    expect(all.filter((t) => t === 'cus_TOxPq7u1bC9d2E')).toHaveLength(1)
    expect(all).not.toContain('usd')
    expect(all).not.toContain('4500')
  })

  it('marks ids and times for the drawer', () => {
    const r = byKey(eventView(charge, facts, US))
    expect(r.get('object_id')?.value).toEqual({ kind: 'id', text: 'ch_3SRzQ2LsYdVw9kXp0abcdef' })
    expect(r.get('customer')?.value.kind).toBe('id')
    expect(r.get('event_id')?.value).toEqual({ kind: 'id', text: facts.eventId })
    expect(r.get('created')?.value).toMatchObject({ kind: 'time', utc: '2025-11-10 18:24:03 UTC' })
    expect(r.get('occurred_at')?.value).toMatchObject({ kind: 'time', utc: '2025-11-10 18:24:03 UTC' })
  })

  it('shows a customer once, under Who, and the currency alone when nothing is an amount', () => {
    const v = eventView(
      {
        object: 'customer',
        object_id: 'cus_1',
        customer_ref: 'cus_1',
        fields: { id: 'cus_1', created: 1762799043, currency: 'eur', delinquent: false },
        subject: { email: 'ada@example.com' },
      },
      { ...facts, eventType: 'customer.created' },
      US,
    )
    const all = v.groups.flatMap((g) => g.rows)
    expect(all.filter((r) => r.value.text === 'cus_1').map((r) => r.label)).toEqual(['Customer'])
    expect(rows(v, 'amounts').map((r) => [r.label, r.value.text])).toEqual([['Currency', 'EUR']])
    expect(rows(v, 'status').map((r) => [r.label, r.value.text])).toEqual([['Delinquent', 'No']])
  })

  it('reads a document it does not know without failing', () => {
    for (const data of [null, 'x', [], { fields: 'no' }, { fields: { amount: 'lots', odd: { a: 1 } }, observed: [1, 'phone'] }]) {
      const v = eventView(data, facts, US)
      expect(rows(v, 'what')[0].value.text).toBe('charge.refunded')
    }
    const odd = byKey(eventView({ fields: { amount: 'lots', odd: { a: 1 } } }, facts, US))
    expect(odd.get('amount')?.value.text).toBe('lots')
    expect(odd.get('odd.a')?.value.text).toBe('1')
  })
})

describe('before and after', () => {
  it('pairs each changed business fact with its old value', () => {
    const v = eventView(
      {
        object: 'charge',
        fields: { amount: 4500, amount_refunded: 4500, currency: 'usd', refunded: true },
        previous: { amount_refunded: 0, refunded: false },
      },
      facts,
      US,
    )
    const r = byKey(v)
    expect([r.get('amount_refunded')?.before?.text, shown(r.get('amount_refunded'))]).toEqual(['$0.00', '$45.00'])
    expect([r.get('refunded')?.before?.text, r.get('refunded')?.value.text]).toEqual(['No', 'Yes'])
    expect(r.get('amount')?.before).toBeUndefined()
    expect(v.changed).toBe(2)
  })

  it("shows a customer.updated's old email, name and address", () => {
    const v = eventView(
      {
        object: 'customer',
        object_id: 'cus_1',
        customer_ref: 'cus_1',
        fields: { id: 'cus_1', currency: 'eur' },
        subject: {
          email: 'alice.durand@example.org',
          previous_email: 'alice.martin@example.com',
          name: 'Alice Durand',
          address: { line1: '3 New Rd', city: 'Leeds' },
          previous_address: { line1: '27 Kestrel Row', city: 'Manchester' },
        },
      },
      { ...facts, eventType: 'customer.updated' },
      US,
    )
    const r = byKey(v)
    expect([r.get('subject.email')?.before?.text, r.get('subject.email')?.value.text]).toEqual([
      'alice.martin@example.com',
      'alice.durand@example.org',
    ])
    expect([r.get('subject.address')?.before?.text, r.get('subject.address')?.value.text]).toEqual([
      '27 Kestrel Row, Manchester',
      '3 New Rd, Leeds',
    ])
    expect(addressText({ city: 'Manchester', country: 'GB', line1: '27 Kestrel Row', line2: null, postal_code: 'M4 6BT', state: null })).toBe(
      '27 Kestrel Row, M4 6BT Manchester, GB',
    )
    expect(addressText({})).toBe('—')
    expect(r.get('subject.name')?.before).toBeUndefined()
    expect(v.changed).toBe(2)
  })

  it('shows a status change and a field that is gone now', () => {
    const r = byKey(
      eventView(
        { object: 'subscription', fields: { status: 'canceled', currency: 'usd' }, previous: { status: 'active', cancel_at: 1762799043 } },
        facts,
        US,
      ),
    )
    expect([r.get('status')?.before?.text, r.get('status')?.value.text]).toEqual(['Active', 'Canceled'])
    expect(r.get('cancel_at')?.value.text).toBe('—')
    expect(r.get('cancel_at')?.before).toMatchObject({ kind: 'time', utc: '2025-11-10 18:24:03 UTC' })
  })

  it('uses the old currency for the old amount when the currency changed', () => {
    const r = byKey(eventView({ fields: { amount: 500, currency: 'jpy' }, previous: { amount: 4500, currency: 'usd' } }, facts, US))
    expect([r.get('amount')?.before?.text, r.get('amount')?.value.text]).toEqual(['$45.00', '¥500'])
    expect([r.get('currency')?.before?.text, r.get('currency')?.value.text]).toEqual(['USD', 'JPY'])
  })
})

describe('what was not kept', () => {
  it('names the categories the event carried and Privacy Desk dropped', () => {
    expect(notKeptSentence(['email', 'name', 'phone', 'payment_card'], new Set(['email', 'name']))).toBe(
      `This event carried phone number and card details, which Privacy Desk did not keep. ${NEVER_KEPT}`,
    )
    expect(notKeptSentence(['email', 'postal_address', 'shipping_address', 'tax_id'], new Set(['email']))).toBe(
      `This event carried postal address, shipping address and tax ids, which Privacy Desk did not keep. ${NEVER_KEPT}`,
    )
  })

  it('states the fixed policy when nothing was dropped or nothing is known', () => {
    expect(notKeptSentence([], new Set())).toBe(NEVER_KEPT)
    expect(notKeptSentence(['email'], new Set(['email']))).toBe(NEVER_KEPT)
    expect(eventView({ observed: ['email', 'phone'], subject: { email: 'a@example.com' } }, facts, US).notKept).toContain(
      'carried phone number, which',
    )
  })
})
