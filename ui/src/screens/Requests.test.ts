import { afterEach, describe, expect, it, vi } from 'vitest'
import { todayUtc } from '../lib/requests'
import type { AuditEntry, Request, SubjectDetail } from '../lib/types'
import { click, renderApp, text, type } from '../test/app'
import {
  nextStep,
  pageState,
  plan,
  processorFixtures,
  request as mockRequest,
  retentionSettings,
  stripeProcessor,
  type PageState,
} from '../test/fixtures'
import { createMockBackend, type Fixtures } from '../test/mockIpc'

let view: ReturnType<typeof renderApp> | null = null
afterEach(() => {
  view?.destroy()
  view = null
})

const today = todayUtc()

/**
 * The requests as a list the commands read and change: each change the test makes is stated in
 * `changes` (the new fields), recorded as a step. Whether a change is allowed, and which step is
 * due, is the backend's call: a test that needs a refusal or a due step says so (`pages`: the
 * page state of each request, which the test changes as it goes).
 */
function requestFixtures(list: Request[], extra: Fixtures = {}, pages: Record<number, Partial<PageState>> = {}): Fixtures {
  const steps: Record<number, AuditEntry[]> = {}
  let auditId = 1000
  const find = (id: number) => {
    const r = list.find((x) => x.id === id)
    if (!r) throw { code: 'not_found', message: `no request with id ${id}` }
    return r
  }
  const change = (id: number, action: string, fields: Partial<Request>, details: Record<string, unknown> = {}) => {
    const r = Object.assign(find(id), fields)
    ;(steps[id] ??= []).push({ id: auditId++, at: new Date().toISOString(), actor: 'user', action, request_id: id, subject: r.subject, details, hash: 'h' })
    return r
  }
  return {
    requestsList: () => list,
    requestPage: (id) => ({ ...find(id), steps: steps[id] ?? [], ...pageState(pages[id]) }),
    requestCreate: (kind, email, regime) => {
      const r = mockRequest(list.length + 1, { kind: kind as Request["kind"], email: email.toLowerCase(), regime })
      list.push(r)
      return change(r.id, 'request.created', {})
    },
    requestVerifyIdentity: (id, method) => change(id, 'request.identity_verified', { identity_method: method, status: 'identity_verified' }),
    requestNote: (id, text) => change(id, 'request.note_added', { notes: text }),
    requestComplete: (id, reason) => {
      // The due step is done, or the test states the reason the backend records.
      const details = reason ? { closed_early: pages[id]?.closing_needs_reason ?? false, reason } : {}
      pages[id] = { ...pages[id], next_step: nextStep('none', 'Nothing to do', 'The request is answered.'), closing_needs_reason: false }
      return change(id, 'request.completed', { status: 'completed', completed_at: new Date().toISOString() }, details)
    },
    ...extra,
  }
}

function withRequests(...list: Request[]) {
  return createMockBackend(requestFixtures(list))
}

describe('requests inbox', () => {
  it('lists requests by days left, coloured, closed last', async () => {
    const backend = withRequests(
      mockRequest(1, { days_left: 20 }),
      mockRequest(2, { days_left: -1, kind: 'erasure' }),
      mockRequest(3, { days_left: 5, status: 'completed', completed_at: '2026-03-01T00:00:00Z' }),
      mockRequest(4, { days_left: 6 }),
    )
    view = renderApp(backend, '#/requests')
    await vi.waitFor(() => expect(view!.$$('tr[data-request-id]')).toHaveLength(4))
    const rows = view.$$('tr[data-request-id]')
    expect(rows.map((r) => r.dataset.requestId)).toEqual(['2', '4', '1', '3'])
    expect(rows.map((r) => r.dataset.urgency)).toEqual(['red', 'amber', 'green', 'closed'])
    expect(text(rows[0])).toContain('1 day overdue')
    expect(view.$('#nav-requests')?.getAttribute('aria-current')).toBe('page')
  })

  it('records a new request and opens it', async () => {
    const backend = withRequests()
    view = renderApp(backend, '#/requests')
    await vi.waitFor(() => expect(text(view!.$('main'))).toContain('No data subject requests yet'))
    click(view.$('#new-request'))
    type(view.$('#request-kind'), 'erasure')
    type(view.$('#request-email'), 'nope')
    click(view.$('#request-create'))
    expect(text(view.$('#request-email-error'))).toMatch(/not an email/)
    expect(backend.calls.some(([m]) => m === 'requestCreate')).toBe(false)

    type(view.$('#request-email'), 'Ada@Example.com')
    type(view.$<HTMLSelectElement>('#request-regime'), 'ccpa')
    click(view.$('#request-create'))
    await vi.waitFor(() => expect(window.location.hash).toBe('#/requests/1'))
    expect(backend.calls.find(([m]) => m === 'requestCreate')?.[1]).toEqual(['erasure', 'Ada@Example.com', 'ccpa', today])
  })
})

describe('request page', () => {
  it('verifies identity, adds a note, and completes', async () => {
    const backend = withRequests(mockRequest(1, { days_left: 30 }))
    view = renderApp(backend, '#/requests/1')
    await vi.waitFor(() => expect(view!.$('#days-left')).not.toBeNull())
    expect(view.$('#days-left')?.dataset.urgency).toBe('green')

    type(view.$('#identity-method'), 'replied from the account email')
    click(view.$('#verify-identity'))
    await vi.waitFor(() => expect(text(view!.$('main'))).toContain('replied from the account email'))
    await vi.waitFor(() => expect(view!.$$('#request-steps li').map((li) => li.dataset.action)).toContain('request.identity_verified'))

    type(view.$('#note-text'), 'Called the subject.')
    click(view.$('#add-note'))
    await vi.waitFor(() => expect(text(view!.$('#request-notes'))).toBe('Called the subject.'))

    click(view.$('#complete-request'))
    await vi.waitFor(() => expect(text(view!.$('main'))).toContain('Completed'))
    expect(view.$('#complete-request')).toBeNull()
  })

  it('extends once with a reason, then explains why it cannot again', async () => {
    const list = [mockRequest(1)]
    const backend = createMockBackend(
      requestFixtures(list, {
        requestExtend: (id, reason) =>
          Object.assign(list[0], {
            extended: true,
            extension_reason: reason,
            extension: { allowed: false, due_at: null, refusal: 'this request was extended already: the law allows one extension' },
          }),
      }),
    )
    view = renderApp(backend, '#/requests/1')
    await vi.waitFor(() => expect(view!.$('#extend-reason')).not.toBeNull())
    type(view.$('#extend-reason'), 'complex request')
    click(view.$('#extend-request'))
    await vi.waitFor(() => expect(text(view!.$('#extend-note'))).toMatch(/one extension/))
    expect(view.$<HTMLButtonElement>('#extend-request')?.disabled).toBe(true)
    expect(backend.calls.find(([m]) => m === 'requestExtend')?.[1]).toEqual([1, 'complex request'])
  })

  it('disables the extension after the first period, saying why', async () => {
    const refusal = 'the first period ended on 2026-03-10: an extension must be decided and told to the data subject within it'
    const backend = withRequests(mockRequest(1, { days_left: -9, overdue: true, extension: { allowed: false, due_at: null, refusal } }))
    view = renderApp(backend, '#/requests/1')
    await vi.waitFor(() => expect(view!.$('#extend-note')).not.toBeNull())
    expect(view.$<HTMLButtonElement>('#extend-request')?.disabled).toBe(true)
    expect(text(view.$('#extend-note'))).toMatch(/first period ended/)
    expect(view.$('#days-left')?.dataset.urgency).toBe('red')
  })

  it('builds an access package into the chosen folder with progress', async () => {
    const backend = withRequests(mockRequest(1, { kind: 'access' }))
    let release: () => void = () => {}
    backend.fixtures.accessPackage = async (id, dir) => {
      backend.emit('access-progress', { step: 'local data', done: 0, total: 4 })
      backend.emit('access-progress', { step: 'stripe', done: 1, total: 4 })
      backend.emit('access-progress', { step: 'files', done: 2, total: 4 })
      await new Promise<void>((r) => (release = r))
      backend.emit('access-progress', { step: 'done', done: 4, total: 4 })
      return accessPackage(id, dir)
    }
    view = renderApp(backend, '#/requests/1')
    await vi.waitFor(() => expect(view!.$('#build-access')).not.toBeNull())
    click(view.$('#build-access-choose'))
    await vi.waitFor(() => expect(view!.$<HTMLProgressElement>('#access-progress progress')?.value).toBe(50))
    release()
    await vi.waitFor(() => expect(view!.$('#access-result')).not.toBeNull())
    expect(text(view.$('#access-result'))).toContain('/home/officer/Documents/access-request-1.zip')
    expect(text(view.$('#access-sha256'))).toBe('ab'.repeat(32))
    expect(backend.calls.find(([m]) => m === 'accessPackage')?.[1]).toEqual([1, '/home/officer/Documents', null])
  })

  it('saves to the Downloads folder without asking', async () => {
    const backend = withRequests(mockRequest(1, { kind: 'access' }))
    backend.fixtures.accessPackage = accessPackage
    view = renderApp(backend, '#/requests/1')
    await vi.waitFor(() => expect(view!.$('#build-access')).not.toBeNull())
    click(view.$('#build-access'))
    await vi.waitFor(() => expect(text(view!.$('#access-path'))).toBe('/home/officer/Downloads/access-request-1.zip'))
    expect(backend.calls.some(([m]) => m === 'chooseFolder')).toBe(false)
    expect(backend.calls.find(([m]) => m === 'accessPackage')?.[1]).toEqual([1, null, null])
  })

  it('does nothing when the folder choice is cancelled', async () => {
    const backend = withRequests(mockRequest(1, { kind: 'access' }))
    backend.fixtures.chooseFolder = null
    view = renderApp(backend, '#/requests/1')
    await vi.waitFor(() => expect(view!.$('#build-access')).not.toBeNull())
    click(view.$('#build-access-choose'))
    await vi.waitFor(() => expect(backend.calls.some(([m]) => m === 'chooseFolder')).toBe(true))
    expect(backend.calls.some(([m]) => m === 'accessPackage')).toBe(false)
    expect(view.$('#access-result')).toBeNull()
  })

  it('runs an erasure through plan review, confirmation and receipt', async () => {
    const list = [mockRequest(1, { kind: 'erasure' })]
    const backend = createMockBackend({
      ...requestFixtures(list),
      erasurePlan: plan(list[0]),
      erasureExecute: (id) => {
        Object.assign(list[0], { status: 'completed', completed_at: new Date().toISOString(), erased: true })
        return {
          request_id: id,
          status: 'completed',
          steps: ['stripe', 'local'],
          events_deleted: 3,
          records_retained: 2,
          stripe_customers_deleted: ['cus_1'],
          stripe_redaction_jobs: [],
          completed_at: list[0].completed_at!,
          plan_changed: [],
        }
      },
      erasureReceipt: (id) => ({
        request_id: id,
        subject: 'sh_1',
        regime: 'gdpr',
        received_at: list[0].received_at,
        completed_at: list[0].completed_at ?? '',
        controller: { name: '', address: '', email: '', dpo_name: '', dpo_email: '', representative: '' },
        erased: plan(list[0]).items.filter((i) => i.action === 'erase'),
        retained: plan(list[0]).items.filter((i) => i.action === 'retain'),
        stripe_customers_deleted: [],
        stripe_redaction_jobs: [],
        records_retained: 2,
      }),
      chooseSavePath: '/tmp/receipt.html',
    })
    view = renderApp(backend, '#/requests/1')
    await vi.waitFor(() => expect(view!.$('#review-plan')).not.toBeNull())
    click(view.$('#review-plan'))
    await vi.waitFor(() => expect(view!.$$('[data-plan-action]')).toHaveLength(3))
    expect(view.$$('[data-plan-action]').map((li) => li.dataset.planAction)).toEqual(['erase', 'erase', 'retain'])
    expect(text(view.$('[data-plan-action="retain"]'))).toMatch(/Legal basis: GDPR Art\. 17\(3\)\(b\)/)
    expect(text(view.$('[data-plan-action="retain"]'))).toMatch(/Until .*2034/)

    click(view.$('#execute-erasure'))
    expect(view.$('#confirm-erasure')).not.toBeNull()
    expect(backend.calls.some(([m]) => m === 'erasureExecute')).toBe(false)
    click(view.$('#confirm-erasure'))
    await vi.waitFor(() => expect(view!.$('#erasure-result')).not.toBeNull())
    expect(text(view.$('#erasure-result'))).toContain('deleted in Stripe: cus_1')

    click(view.$('#save-receipt'))
    await vi.waitFor(() => expect(text(view!.$('#receipt-path'))).toContain('/tmp/receipt.html'))
    expect(backend.calls.find(([m]) => m === 'erasureReceipt')?.[1]).toEqual([1, '/tmp/receipt.html'])
  })

  it('watches an erasure waiting for its checkpoint until the background job completes it', async () => {
    const list = [mockRequest(1, { kind: 'erasure' })]
    const backend = createMockBackend({ ...requestFixtures(list), erasurePlan: plan(list[0]) })
    view = renderApp(backend, '#/requests/1')
    await vi.waitFor(() => expect(view!.$('#review-plan')).not.toBeNull())
    click(view.$('#review-plan'))
    await vi.waitFor(() => expect(view!.$$('[data-plan-action]')).toHaveLength(3))
    backend.failNext('erasureExecute', {
      code: 'unavailable',
      message: 'request 1 is erased but not completed yet: the request waits for it',
    })
    click(view.$('#execute-erasure'))
    click(view.$('#confirm-erasure'))
    await vi.waitFor(() => expect(text(view!.$('#erasure-error'))).toContain('not completed yet'))
    expect(view.$('#erasure-result')).toBeNull()
    // The job completes it a little later; the page shows it without a reload.
    Object.assign(list[0], { status: 'completed', completed_at: new Date().toISOString(), erased: true })
    await vi.waitFor(() => expect(text(view!.$('#erasure-result'))).toContain('Erasure completed'), { timeout: 6000 })
    expect(view.$('#erasure-error')).toBeNull()
  })

  it('shows blocked items with what to do and keeps execution off', async () => {
    const backend = withRequests(mockRequest(1, { kind: 'erasure' }))
    backend.fixtures.erasurePlan = {
      request_id: 1,
      subject: 'sh_1',
      data_held: true,
      identity_verified: false,
      stripe: 'live',
      blocked: true,
      foreign_objects_dropped: 0,
      changed: ['stripe:invoice:in_9: — → blocked'],
      items: [
        { target: 'local:profile', action: 'erase', legal_basis: null, retain_until: null, reason: 'the record' },
        { target: 'stripe:invoice:in_9', action: 'blocked', legal_basis: null, retain_until: null, reason: 'invoice in_9 is open: void it in Stripe' },
      ],
    }
    view = renderApp(backend, '#/requests/1')
    await vi.waitFor(() => expect(view!.$('#review-plan')).not.toBeNull())
    click(view.$('#review-plan'))
    await vi.waitFor(() => expect(view!.$('[data-plan-action="blocked"]')).not.toBeNull())
    expect(text(view.$('[data-plan-action="blocked"]'))).toContain('void it in Stripe')
    expect(view.$<HTMLButtonElement>('#execute-erasure')?.disabled).toBe(true)
    expect(text(view.$('#erasure-blocked'))).toMatch(/Resolve the blocked items/)
    expect(text(view.$('#plan-changed'))).toContain('Stripe invoice in_9: new (blocked)')
  })
})

/** The page's primary buttons, as the user sees them (dialogs closed). */
const primaries = () => [...document.querySelectorAll<HTMLButtonElement>('main .btn.primary')]

describe('the due step', () => {
  it('is the one primary button, and moves on as the backend says', async () => {
    const list = [mockRequest(1, { kind: 'access' })]
    const pages: Record<number, Partial<PageState>> = {
      1: { next_step: nextStep('verify_identity', 'Verify identity', 'Confirm the requester first.'), closing_needs_reason: true, identity_override_needed: true },
    }
    const backend = createMockBackend(
      requestFixtures(
        list,
        {
          requestVerifyIdentity: (id, method) => {
            pages[id] = { next_step: nextStep('build_package', 'Build package', 'Collect everything held.'), closing_needs_reason: true, identity_override_needed: false }
            return Object.assign(list[0], { identity_method: method, status: 'identity_verified' })
          },
          accessPackage,
        },
        pages,
      ),
    )
    view = renderApp(backend, '#/requests/1')
    await vi.waitFor(() => expect(view!.$('#next-step')?.dataset.step).toBe('verify_identity'))
    expect(text(view.$('#next-step-why'))).toBe('Confirm the requester first.')
    expect(primaries().map((b) => text(b))).toEqual(['Verify identity'])
    expect(text(view.$('#build-access'))).toBe('Build access package')

    type(view.$('#identity-method'), 'replied from the account email')
    click(view.$('#verify-identity'))
    await vi.waitFor(() => expect(view!.$('#next-step')?.dataset.step).toBe('build_package'))
    expect(primaries().map((b) => b.id)).toEqual(['next-step-action'])
    expect(text(primaries()[0])).toBe('Build package')
    expect(view.$('#access-unverified')).toBeNull()
    click(view.$('#next-step-action'))
    await vi.waitFor(() => expect(view!.$('#access-result')).not.toBeNull())
    expect(backend.calls.find(([m]) => m === 'accessPackage')?.[1]).toEqual([1, null, null])
  })

  it('asks why a request is closed early, and shows the reason in its steps', async () => {
    const pages: Record<number, Partial<PageState>> = {
      1: { next_step: nextStep('build_package', 'Build package'), closing_needs_reason: true },
    }
    const backend = createMockBackend(requestFixtures([mockRequest(1, { kind: 'access' })], {}, pages))
    view = renderApp(backend, '#/requests/1')
    await vi.waitFor(() => expect(view!.$('#complete-request')).not.toBeNull())
    expect(text(view.$('#complete-request'))).toBe('Close early…')

    // Cancelled: nothing is sent.
    click(view.$('#complete-request'))
    expect(view.$('#close-dialog')).not.toBeNull()
    click(view.$('#close-dialog-cancel'))
    expect(view.$('#close-dialog')).toBeNull()

    click(view.$('#complete-request'))
    const confirm = () => view!.$<HTMLButtonElement>('#close-dialog-confirm')!
    expect(confirm().disabled).toBe(true)
    // "Another reason" needs the words.
    click(view.$('#close-dialog input[value="other"]'))
    expect(confirm().disabled).toBe(true)
    type(view.$('#close-dialog-reason'), '  ')
    expect(confirm().disabled).toBe(true)
    click(view.$('#close-dialog input[value="withdrawn"]'))
    expect(view.$('#close-dialog-reason')).toBeNull()
    expect(confirm().disabled).toBe(false)
    click(confirm())
    await vi.waitFor(() => expect(view!.$('#close-dialog')).toBeNull())
    expect(backend.calls.filter(([m]) => m === 'requestComplete').map(([, a]) => a)).toEqual([[1, 'Withdrawn by the person']])
    await vi.waitFor(() => expect(text(view!.$('#request-steps li[data-action="request.completed"]'))).toContain('Closed early: Withdrawn by the person'))
    expect(view.$('#next-step')?.dataset.step).toBe('none')
    expect(primaries()).toEqual([])
  })

  it('shows a refusal in the dialog and keeps it open', async () => {
    const pages: Record<number, Partial<PageState>> = { 1: { next_step: nextStep('verify_identity', 'Verify identity'), closing_needs_reason: true } }
    const backend = createMockBackend(requestFixtures([mockRequest(1)], {}, pages))
    backend.failNext('requestComplete', { code: 'reason_required', message: 'give the reason' })
    view = renderApp(backend, '#/requests/1')
    await vi.waitFor(() => expect(view!.$('#complete-request')).not.toBeNull())
    click(view.$('#complete-request'))
    click(view.$('#close-dialog input[value="answered_outside"]'))
    click(view.$('#close-dialog-confirm'))
    await vi.waitFor(() => expect(text(view!.$('#close-dialog [role="alert"]'))).toBe('give the reason'))
    expect(view.$('#close-dialog')).not.toBeNull()
  })

  it('completes without asking when the due step answers the request', async () => {
    const pages: Record<number, Partial<PageState>> = { 1: { next_step: nextStep('send_package', 'Mark package sent') } }
    const backend = createMockBackend(requestFixtures([mockRequest(1)], {}, pages))
    view = renderApp(backend, '#/requests/1')
    await vi.waitFor(() => expect(text(view!.$('#next-step-action'))).toBe('Mark package sent'))
    expect(text(view.$('#complete-request'))).toBe('Mark package sent')
    click(view.$('#next-step-action'))
    await vi.waitFor(() => expect(backend.calls.find(([m]) => m === 'requestComplete')?.[1]).toEqual([1, null]))
    expect(view.$('#close-dialog')).toBeNull()
  })

  it('asks why a package is built for an unverified identity', async () => {
    const pages: Record<number, Partial<PageState>> = {
      1: { next_step: nextStep('verify_identity', 'Verify identity'), closing_needs_reason: true, identity_override_needed: true },
    }
    const backend = createMockBackend(requestFixtures([mockRequest(1, { kind: 'access' })], { accessPackage }, pages))
    view = renderApp(backend, '#/requests/1')
    await vi.waitFor(() => expect(view!.$('#access-unverified')).not.toBeNull())
    click(view.$('#build-access'))
    expect(view.$('#override-dialog')).not.toBeNull()
    expect(backend.calls.some(([m]) => m === 'accessPackage')).toBe(false)
    expect(view.$<HTMLButtonElement>('#override-dialog-confirm')?.disabled).toBe(true)
    type(view.$('#override-dialog-reason'), 'asked from the signed-in account')
    click(view.$('#override-dialog-confirm'))
    await vi.waitFor(() => expect(view!.$('#access-result')).not.toBeNull())
    expect(view.$('#override-dialog')).toBeNull()
    expect(backend.calls.find(([m]) => m === 'accessPackage')?.[1]).toEqual([1, null, 'asked from the signed-in account'])
  })

  it('records a blocker resolved at Stripe and shows the plan the backend returns', async () => {
    const list = [mockRequest(1, { kind: 'erasure', identity_method: 'signed letter', status: 'identity_verified' })]
    const target = 'stripe:invoice:in_9'
    const blocked = plan(list[0], {
      blocked: true,
      items: [
        { target: 'local:profile', action: 'erase', legal_basis: null, retain_until: null, reason: 'the record' },
        { target, action: 'blocked', legal_basis: null, retain_until: null, reason: 'invoice in_9 is open: void it in Stripe' },
      ],
    })
    const freed = plan(list[0], {
      items: [
        { target: 'local:profile', action: 'erase', legal_basis: null, retain_until: null, reason: 'the record' },
        { target, action: 'erase', legal_basis: null, retain_until: null, reason: 'resolved at Stripe by the user on 2026-03-02: voided it' },
      ],
    })
    const pages: Record<number, Partial<PageState>> = { 1: { next_step: nextStep('resolve_blocker', 'Resolve blocked items'), closing_needs_reason: true } }
    const backend = createMockBackend(
      requestFixtures(
        list,
        {
          erasurePlan: blocked,
          erasureResolveBlocker: () => {
            pages[1] = { next_step: nextStep('run_erasure', 'Erase…'), closing_needs_reason: true }
            return freed
          },
        },
        pages,
      ),
    )
    view = renderApp(backend, '#/requests/1')
    // The due step acts on the plan: it is shown without asking.
    await vi.waitFor(() => expect(view!.$(`[data-plan-action="blocked"][data-target="${target}"]`)).not.toBeNull())
    expect(view.$<HTMLButtonElement>('#execute-erasure')?.disabled).toBe(true)
    click(view.$('#next-step-action'))
    await vi.waitFor(() => expect(view!.$('#resolve-note')).not.toBeNull())
    expect(view.$<HTMLButtonElement>('#resolve-submit')?.disabled).toBe(true)
    type(view.$('#resolve-note'), 'voided it in the dashboard')
    click(view.$('#resolve-submit'))
    await vi.waitFor(() => expect(view!.$(`[data-plan-action="erase"][data-target="${target}"]`)).not.toBeNull())
    expect(backend.calls.find(([m]) => m === 'erasureResolveBlocker')?.[1]).toEqual([1, target, 'voided it in the dashboard'])
    expect(text(view.$(`[data-target="${target}"]`))).toContain('resolved at Stripe by the user')
    await vi.waitFor(() => expect(view!.$('#next-step')?.dataset.step).toBe('run_erasure'))
    expect(view.$<HTMLButtonElement>('#execute-erasure')?.disabled).toBe(false)
    expect(primaries().map((b) => text(b))).toEqual(['Erase…'])
  })
})

describe('started elsewhere', () => {
  const subject: SubjectDetail = {
    id: 5,
    email: 'ada@example.com',
    name: 'Ada',
    created_at: '2026-03-01T12:00:00Z',
    activity_count: 0,
    status: 'active',
    external_ids: [],
    emails: [{ email: 'ada@example.com', first_seen_at: '2026-03-01T12:00:00Z', replaced_at: null }],
    timeline: [],
  }

  it('starts an access request from the subject page and opens it', async () => {
    const backend = createMockBackend({ ...processorFixtures([stripeProcessor(1)]), ...requestFixtures([]), subjectDetail: subject })
    view = renderApp(backend, '#/subjects/5')
    await vi.waitFor(() => expect(view!.$<HTMLButtonElement>('#start-access')?.disabled).toBe(false))
    click(view.$('#start-access'))
    await vi.waitFor(() => expect(window.location.hash).toBe('#/requests/1'))
    expect(backend.calls.find(([m]) => m === 'requestCreate')?.[1]).toEqual(['access', 'ada@example.com', 'gdpr', null])
  })

  it('starts an erasure request from the subject page', async () => {
    const list: Request[] = []
    const backend = createMockBackend({ ...requestFixtures(list), subjectDetail: subject })
    view = renderApp(backend, '#/subjects/5')
    await vi.waitFor(() => expect(view!.$<HTMLButtonElement>('#start-erasure')?.disabled).toBe(false))
    click(view.$('#start-erasure'))
    await vi.waitFor(() => expect(list.map((r) => r.kind)).toEqual(['erasure']))
  })

  it("lists the subject's requests and opens the open one instead of starting another", async () => {
    const backend = createMockBackend({
      ...requestFixtures([]),
      subjectDetail: subject,
      subjectRequests: [mockRequest(7, { kind: 'access', email: 'ada@example.com' }), mockRequest(3, { kind: 'erasure', status: 'completed' })],
    })
    view = renderApp(backend, '#/subjects/5')
    await vi.waitFor(() => expect(view!.$$('#subject-requests [data-request-id]')).toHaveLength(2))
    expect(text(view.$('#subject-requests'))).toContain('Access #7')
    expect(text(view.$('#subject-requests'))).toContain('Erasure #3')
    // The open access request is offered, not a second one; the erasure is closed, so a new one can start.
    expect(view.$('#start-access')).toBeNull()
    expect(view.$('#open-access')?.getAttribute('href')).toBe('#/requests/7')
    expect(view.$('#start-erasure')).not.toBeNull()
  })

  it('lists open requests with days left on the dashboard', async () => {
    const backend = withRequests(
      mockRequest(1, { days_left: 9 }),
      mockRequest(2, { days_left: 1, kind: 'erasure' }),
      mockRequest(3, { status: 'completed' }),
    )
    view = renderApp(backend, '#/dashboard')
    await vi.waitFor(() => expect(view!.$$('#dash-open-requests [data-request-id]')).toHaveLength(2))
    expect(text(view.$('#open-requests-card'))).toContain('Erasure #2 1 day left')
  })

  it('sets the financial-record retention from a preset or in years', async () => {
    const retention = retentionSettings()
    const backend = createMockBackend({
      financialRetentionGet: () => retention,
      financialRetentionSet: (years, preset) => {
        retention.current = { years: years ?? retention.presets.find((p) => p.key === preset)!.years, preset }
        return retention
      },
    })
    view = renderApp(backend, '#/settings')
    await vi.waitFor(() => expect(view!.$('#retention-preset')).not.toBeNull())
    expect(view.$<HTMLInputElement>('#retention-years')?.value).toBe('7')
    type(view.$('#retention-preset'), 'de')
    expect(view.$<HTMLInputElement>('#retention-years')?.value).toBe('10')
    // One Save for the Settings page, which holds the retention section.
    expect(view.$('#retention-save')).toBeNull()
    click(view.$('#settings-save'))
    await vi.waitFor(() => expect(text(view!.$('main [role="status"].status'))).toBe('Settings saved.'))
    expect(retention.current).toEqual({ years: 10, preset: 'de' })

    type(view.$('#retention-preset'), 'custom')
    type(view.$('#retention-years'), '40')
    click(view.$('#settings-save'))
    await vi.waitFor(() => expect(text(view!.$('#retention-error'))).toMatch(/Between 1 and 30/))
    type(view.$('#retention-years'), '12')
    click(view.$('#settings-save'))
    await vi.waitFor(() => expect(retention.current).toEqual({ years: 12, preset: null }))
    expect(backend.calls.filter(([m]) => m === 'financialRetentionSet').map(([, a]) => a)).toEqual([
      [null, 'de'],
      [12, null],
    ])
  })
})

function accessPackage(id: number, dir: string | null) {
  return {
    path: `${dir ?? '/home/officer/Downloads'}/access-request-${id}.zip`,
    sha256: 'ab'.repeat(32),
    stripe: 'live',
    foreign_objects_dropped: 0,
    files: [
      { name: 'profile.json', sha256: 'cd'.repeat(32), bytes: 120, records: 1 },
      { name: 'summary.html', sha256: 'ef'.repeat(32), bytes: 2048, records: null },
    ],
  }
}
