import { describe, expect, it } from 'vitest'
import { request } from '../test/fixtures'
import {
  changeLabel,
  foreignNote,
  daysLeftLabel,
  groupPlan,
  openRequests,
  parseRetentionYears,
  planObstacle,
  progressPercent,
  sentence,
  sortInbox,
  targetLabel,
  urgency,
  urgencyTone,
  validateNewRequest,
  planNeeded,
  closeReasonText,
  stepNote,
} from './requests'
import type { Plan, PlanItem } from './types'
import type { RequestStatus } from './bindings/RequestStatus'

const TODAY = '2026-03-30'
const mockRequest = (id: number, over: Parameters<typeof request>[1] = {}, _today?: string) => request(id, over)

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

describe('backend phrases', () => {
  it('become sentences', () => {
    expect(sentence('this request was extended already: the law allows one extension')).toBe(
      'This request was extended already: the law allows one extension.',
    )
    expect(sentence('Done.')).toBe('Done.')
    expect(sentence('')).toBe('')
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

describe('the request page', () => {
  it('loads the plan by itself only when the due step acts on it', () => {
    expect(planNeeded('run_erasure')).toBe(true)
    expect(planNeeded('resolve_blocker')).toBe(true)
    for (const k of ['verify_identity', 'review_plan', 'send_receipt', 'build_package', 'none'] as const) expect(planNeeded(k)).toBe(false)
  })

  it('turns the close dialog choice into the reason sent', () => {
    expect(closeReasonText('', '')).toBeNull()
    expect(closeReasonText('withdrawn', 'ignored')).toBe('Withdrawn by the person')
    expect(closeReasonText('answered_outside', '')).toBe('Answered outside Privacy Desk')
    expect(closeReasonText('other', '   ')).toBeNull()
    expect(closeReasonText('other', '  answered by post ')).toBe('answered by post')
  })

  it('says what a step recorded in words', () => {
    const e = (action: string, details: Record<string, unknown>) => ({ action, details })
    expect(stepNote(e('request.completed', { closed_early: true, due_step: 'build_package', reason: 'Withdrawn by the person' }))).toBe(
      'Closed early: Withdrawn by the person',
    )
    expect(stepNote(e('request.completed', { closed_early: false, reason: 'sent by post' }))).toBe('sent by post')
    expect(stepNote(e('request.completed', {}))).toBeNull()
    expect(stepNote(e('access.identity_override', { reason: 'statutory deadline' }))).toBe('Built without a verified identity: statutory deadline')
    expect(stepNote(e('erasure.blocker_resolved', { target: 'stripe:invoice:in_1', note: 'voided it' }))).toBe('Stripe invoice in_1 resolved at Stripe: voided it')
    expect(stepNote(e('erasure.plan_reviewed', { blocked: ['stripe:invoice:in_1'], stripe: 'live' }))).toBeNull()
    expect(stepNote(e('request.identity_verified', {}))).toBeNull()
  })
})
