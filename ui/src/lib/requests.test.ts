import { describe, expect, it } from 'vitest'
import { mockRequest } from './mockRequests'
import {
  changeLabel,
  foreignNote,
  addMonths,
  daysLeftLabel,
  extendedDue,
  extensionEligibility,
  firstDue,
  groupPlan,
  openRequests,
  parseRetentionYears,
  planObstacle,
  progressPercent,
  sortInbox,
  targetLabel,
  urgency,
  urgencyTone,
  validateNewRequest,
} from './requests'
import type { Plan, PlanItem } from './types'
import type { RequestStatus } from './bindings/RequestStatus'

const TODAY = '2026-03-30'

describe('days left', () => {
  it('colours by urgency: overdue and ≤ 2 days red, ≤ 7 amber, more green, closed neutral', () => {
    const u = (days_left: number, status: RequestStatus = 'received') => urgency({ days_left, status })
    expect([u(-3), u(0), u(2), u(3), u(7), u(8), u(30)]).toEqual(['red', 'red', 'red', 'amber', 'amber', 'green', 'green'])
    expect(u(-10, 'completed')).toBe('closed')
    expect(u(1, 'rejected')).toBe('closed')
    expect(['red', 'amber', 'green', 'closed'].map((x) => urgencyTone(x as never))).toEqual(['bad', 'warn', 'good', 'neutral'])
  })

  it('says it in words', () => {
    expect(daysLeftLabel(-1)).toBe('1 day overdue')
    expect(daysLeftLabel(-4)).toBe('4 days overdue')
    expect(daysLeftLabel(0)).toBe('Due today')
    expect(daysLeftLabel(1)).toBe('1 day left')
    expect(daysLeftLabel(12)).toBe('12 days left')
  })

  it('sorts the inbox: open by days left (overdue first), then closed, newest first', () => {
    const list = [
      mockRequest(1, { days_left: 20 }, TODAY),
      mockRequest(2, { days_left: -2 }, TODAY),
      mockRequest(3, { days_left: 5 }, TODAY),
      mockRequest(4, { days_left: -30, status: 'completed', completed_at: '2026-03-01T00:00:00Z' }, TODAY),
      mockRequest(5, { days_left: 1, status: 'rejected', completed_at: '2026-03-20T00:00:00Z' }, TODAY),
      mockRequest(6, { days_left: 5 }, TODAY),
    ]
    expect(sortInbox(list).map((r) => r.id)).toEqual([2, 3, 6, 1, 5, 4])
    expect(openRequests(list).map((r) => r.id)).toEqual([2, 3, 6, 1])
    // The input is left alone.
    expect(list.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6])
  })
})

describe('deadlines', () => {
  it('adds calendar months clamped to the month end, like the backend', () => {
    expect(addMonths('2026-01-31', 1)).toBe('2026-02-28')
    expect(addMonths('2024-01-31', 1)).toBe('2024-02-29')
    expect(addMonths('2026-03-15', 1)).toBe('2026-04-15')
    expect(addMonths('2026-11-30', 3)).toBe('2027-02-28')
    expect(addMonths('2026-12-31', 1)).toBe('2027-01-31')
  })

  it('knows each regime: one month (+2) or 45 days (+45)', () => {
    expect(firstDue('gdpr', '2026-01-31')).toBe('2026-02-28')
    expect(firstDue('uk-gdpr', '2026-03-01')).toBe('2026-04-01')
    expect(firstDue('ccpa', '2026-01-01')).toBe('2026-02-15')
    expect(extendedDue('gdpr', '2026-01-31')).toBe('2026-04-30')
    expect(extendedDue('ccpa', '2026-01-01')).toBe('2026-04-01')
  })
})

describe('extension eligibility', () => {
  const req = (over: Parameters<typeof mockRequest>[1] = {}) => mockRequest(1, { received_at: '2026-03-10T09:00:00Z', ...over }, TODAY)

  it('allows one extension within the first period, up to and including the due day', () => {
    expect(extensionEligibility(req(), '2026-03-30')).toEqual({ allowed: true, newDue: '2026-06-10' })
    expect(extensionEligibility(req(), '2026-04-10')).toEqual({ allowed: true, newDue: '2026-06-10' })
    expect(extensionEligibility(req({ regime: 'ccpa' }), '2026-04-24')).toEqual({ allowed: true, newDue: '2026-06-08' })
  })

  it('refuses after the first period, a second time, or on a closed request — with the reason', () => {
    const late = extensionEligibility(req(), '2026-04-11')
    expect(late.allowed).toBe(false)
    if (!late.allowed) expect(late.reason).toMatch(/first period ended on 2026-04-10/)
    const again = extensionEligibility(req({ extended: true }), '2026-03-30')
    expect(again.allowed).toBe(false)
    if (!again.allowed) expect(again.reason).toMatch(/one extension/)
    expect(extensionEligibility(req({ status: 'completed' }), '2026-03-30').allowed).toBe(false)
  })
})

describe('new request form', () => {
  const ok = { kind: 'access', email: 'ada@example.com', regime: 'gdpr', received: TODAY }
  it('accepts a complete form', () => {
    expect(validateNewRequest(ok, TODAY)).toEqual({})
  })
  it('names each problem', () => {
    expect(validateNewRequest({ ...ok, email: '' }, TODAY).email).toMatch(/Enter the email/)
    expect(validateNewRequest({ ...ok, email: 'ada' }, TODAY).email).toMatch(/not an email/)
    expect(validateNewRequest({ ...ok, kind: 'x' }, TODAY).kind).toBeTruthy()
    expect(validateNewRequest({ ...ok, regime: 'pipeda' }, TODAY).regime).toBeTruthy()
    expect(validateNewRequest({ ...ok, received: '2026-03-31' }, TODAY).received).toMatch(/future/)
    expect(validateNewRequest({ ...ok, received: '' }, TODAY).received).toMatch(/Enter the date/)
  })
})

describe('erasure plan', () => {
  const item = (target: string, action: string, extra: Partial<PlanItem> = {}): PlanItem => ({
    target,
    action,
    legal_basis: null,
    retain_until: null,
    reason: 'why',
    ...extra,
  })
  const plan = (items: PlanItem[], blocked = false): Plan => ({
    request_id: 1,
    subject: 'sh_1',
    data_held: true,
    identity_verified: true,
    stripe: 'live',
    blocked,
    items,
    foreign_objects_dropped: 0,
    changed: [],
  })

  it('groups items by action, keeping their order, and unknown actions apart', () => {
    const g = groupPlan(
      plan([
        item('local:profile', 'erase'),
        item('local:financial_records', 'retain', { legal_basis: 'Art. 17(3)(b)', retain_until: '2034-01-01T00:00:00Z' }),
        item('stripe:customer:cus_1', 'erase'),
        item('stripe:invoice:in_1', 'blocked'),
        item('local:other', 'review'),
      ]),
    )
    expect(g.erase.map((i) => i.target)).toEqual(['local:profile', 'stripe:customer:cus_1'])
    expect(g.retain.map((i) => i.retain_until)).toEqual(['2034-01-01T00:00:00Z'])
    expect(g.blocked.map((i) => i.target)).toEqual(['stripe:invoice:in_1'])
    expect(g.other.map((i) => i.action)).toEqual(['review'])
  })

  it('stops execution while anything is blocked', () => {
    expect(planObstacle(plan([item('local:profile', 'erase')]))).toBeNull()
    expect(planObstacle(plan([item('stripe:invoice:in_1', 'blocked')], true))).toMatch(/blocked/)
  })

  it('labels targets for people', () => {
    expect(targetLabel('local:profile')).toBe('Profile in Privacy Desk')
    expect(targetLabel('local:financial_records')).toBe('Financial records in Privacy Desk')
    expect(targetLabel('stripe:customer:cus_1')).toBe('Stripe customer cus_1')
    expect(targetLabel('processor:3:QB-17')).toBe('Processor 3: QB-17')
    expect(targetLabel('something')).toBe('something')
  })
})

describe('misc', () => {
  it('turns progress into a percentage', () => {
    expect(progressPercent(null)).toBe(0)
    expect(progressPercent({ done: 1, total: 4 })).toBe(25)
    expect(progressPercent({ done: 9, total: 4 })).toBe(100)
    expect(progressPercent({ done: 1, total: 0 })).toBe(0)
  })

  it('parses retention years between 1 and 30', () => {
    expect(parseRetentionYears(' 10 ')).toEqual({ ok: true, years: 10 })
    expect(parseRetentionYears('0').ok).toBe(false)
    expect(parseRetentionYears('31').ok).toBe(false)
    expect(parseRetentionYears('7.5').ok).toBe(false)
  })
})

describe('objects of other customers', () => {
  it('says nothing when none were dropped, and counts them otherwise', () => {
    expect(foreignNote(0)).toBeNull()
    expect(foreignNote(1)).toContain('1 object belonging to other customers; it was left out')
    expect(foreignNote(5)).toContain('5 objects belonging to other customers; they were left out')
  })
})

describe('plan changes of a resumed erasure', () => {
  it('names the target and says what moved', () => {
    expect(changeLabel('stripe:subscription:sub_1: — → blocked')).toBe('Stripe subscription sub_1: new (blocked)')
    expect(changeLabel('stripe:customer:cus_2: erase → —')).toBe('Stripe customer cus_2: no longer in the plan (was erase)')
    expect(changeLabel('local:activity: retain → erase')).toBe(`${targetLabel('local:activity')}: retain → erase`)
    expect(changeLabel('odd')).toBe('odd')
  })
})
