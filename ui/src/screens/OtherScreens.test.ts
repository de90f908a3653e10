import { afterEach, describe, expect, it, vi } from 'vitest'
import type { KeychainReport, Settings, SubjectDetail } from '../lib/types'
import { click, navigate, renderApp, text, type } from '../test/app'
import { activity, keychainReport, processorFixtures, stripeProcessor } from '../test/fixtures'
import { createMockBackend, type Fixtures } from '../test/mockIpc'

let view: ReturnType<typeof renderApp> | null = null
afterEach(() => {
  view?.destroy()
  view = null
})

function subject(id: number, email: string, name: string | null, over: Partial<SubjectDetail> = {}): SubjectDetail {
  return {
    id,
    email,
    name,
    created_at: '2026-03-01T12:00:00Z',
    activity_count: 2,
    status: 'active',
    external_ids: [{ processor_id: 1, external_id: `cus_${id}` }],
    emails: [{ email, first_seen_at: '2026-03-01T12:00:00Z', replaced_at: null }],
    timeline: [],
    ...over,
  }
}

describe('data subjects', () => {
  const subjects = () => [
      subject(1, 'ada@example.com', 'Ada Lovelace', {
        status: 'deleted_at_processor',
        emails: [
          { email: 'ada@old.example', first_seen_at: '2026-02-01T00:00:00Z', replaced_at: '2026-03-01T00:00:00Z' },
          { email: 'ada@example.com', first_seen_at: '2026-03-01T00:00:00Z', replaced_at: null },
        ],
        timeline: [
          activity(2, { event_type: 'stripe:customer.updated', subject_id: 1, status: 'linked' }),
          activity(1, { subject_id: 1, status: 'linked' }),
        ],
      }),
      subject(2, 'grace@example.com', 'Grace Hopper'),
  ]
  /** The search answers the backend gives for each text the test types. */
  const found: Record<string, number[]> = { '': [1, 2], hopper: [2], 'ada@old': [1], nobody: [] }
  const data = (): Fixtures => {
    const all = subjects()
    return {
      ...processorFixtures([stripeProcessor(1, { name: 'Stripe', status: 'interconnected' })]),
      subjectsSearch: (t) =>
        (found[t.trim()] ?? []).map((id) => {
          const { id: _, email, name, created_at, activity_count, status } = all.find((s) => s.id === id)!
          return { id, email, name, created_at, activity_count, status }
        }),
      subjectDetail: (id) => {
        const s = all.find((x) => x.id === id)
        if (!s) throw { code: 'not_found', message: `no data subject with id ${id}` }
        return s
      },
    }
  }

  it('searches by email or name', async () => {
    const backend = createMockBackend(data())
    view = renderApp(backend, '#/subjects')
    await vi.waitFor(() => expect(view!.$$('[data-subject-email]')).toHaveLength(2))
    type(view.$('#subject-search'), 'hopper')
    await vi.waitFor(() => expect(view!.$$('[data-subject-email]').map((r) => r.getAttribute('data-subject-email'))).toEqual(['grace@example.com']))
    expect(backend.calls.filter(([m]) => m === 'subjectsSearch').at(-1)?.[1]).toEqual(['hopper'])

    // An earlier email finds the subject too (the backend decides; the fixture answers so).
    type(view.$('#subject-search'), 'ada@old')
    await vi.waitFor(() => expect(view!.$$('[data-subject-email]').map((r) => r.getAttribute('data-subject-email'))).toEqual(['ada@example.com']))

    type(view.$('#subject-search'), 'nobody')
    await vi.waitFor(() => expect(text(view!.$('main'))).toContain('No data subject matches “nobody”'))
  })

  it('shows a subject: status, ids per processor, email history, timeline, disabled requests', async () => {
    const backend = createMockBackend(data())
    view = renderApp(backend, '#/subjects/1')
    await vi.waitFor(() => expect(view!.$$('#subject-timeline [data-event-id]')).toHaveLength(2))
    const main = text(view.$('main'))
    expect(text(view.$('h1'))).toBe('Ada Lovelace')
    expect(main).toContain('Deleted at processor')
    expect(main).toContain('cus_1')
    expect(main).toContain('ada@old.example')
    expect(main).toMatch(/replaced/)
    expect(view.$$('#subject-timeline [data-event-id]').map((li) => li.getAttribute('data-event-id'))).toEqual(['evt_2', 'evt_1'])
    await vi.waitFor(() => expect(text(view!.$('#subject-timeline'))).toContain('via Stripe'))

    for (const label of ['Start access request', 'Start erasure request']) {
      const b = view.$$<HTMLButtonElement>('button').find((x) => text(x) === label)!
      expect(b.disabled).toBe(false)
    }
  })

  it('says so when the subject is gone', async () => {
    view = renderApp(createMockBackend(data()), '#/subjects/99')
    await vi.waitFor(() => expect(text(view!.$('main'))).toContain('This data subject no longer exists'))
  })

  it('has an empty state', async () => {
    view = renderApp(createMockBackend(), '#/subjects')
    await vi.waitFor(() => expect(text(view!.$('main'))).toContain('No data subjects yet'))
  })
})

describe('deliveries', () => {
  it('lists rejected first with reason and fix, by status code', async () => {
    const backend = createMockBackend({
      ...processorFixtures([stripeProcessor(1)]),
      deliveriesList: [
        { received_at: '2026-03-01T12:00:00Z', status_code: 400, outcome: 'rejected', reason: 'no matching v1 signature', event_id: null, processor_id: 1, hint: 'Paste the signing secret of this endpoint again.' },
        { received_at: '2026-03-01T11:00:00Z', status_code: 200, outcome: 'accepted', reason: null, event_id: 'evt_1', processor_id: 1, hint: null },
      ],
    })
    view = renderApp(backend, '#/deliveries')
    await vi.waitFor(() => expect(view!.$$('#deliveries-table tr[data-status]')).toHaveLength(2))
    const rows = view.$$('#deliveries-table tr[data-status]')
    expect(rows.map((r) => r.getAttribute('data-status'))).toEqual(['400', '200'])
    // The fix in plain words, the technical reason once, under Details.
    expect(text(rows[0].querySelector('.hint'))).toContain('Paste the signing secret of this endpoint again.')
    expect(text(rows[0].querySelector('details.detail'))).toContain('no matching v1 signature')
    expect(text(rows[0]).split('no matching v1 signature')).toHaveLength(2)
    expect(text(rows[1])).toContain('evt_1')
    expect(backend.calls.find(([m]) => m === 'deliveriesList')?.[1]).toEqual([200])
  })

  it('has an empty state', async () => {
    view = renderApp(createMockBackend(), '#/deliveries')
    await vi.waitFor(() => expect(text(view!.$('main'))).toContain('No deliveries yet'))
  })
})

describe('settings', () => {
  it('loads, validates and saves', async () => {
    let saved: Settings | null = null
    const backend = createMockBackend({ settingsSave: (s) => (saved = s) })
    view = renderApp(backend, '#/settings')
    await vi.waitFor(() => expect(view!.$('#set-orgName')).not.toBeNull())
    expect(text(view.$('#data-dir'))).toBe('/home/officer/.local/share/privacy-desk')

    type(view.$('#set-orgName'), 'Acme GmbH')
    type(view.$('#set-receiverPort'), '99999')
    click(view.$('#settings-save'))
    await vi.waitFor(() => expect(text(view!.$('#set-receiverPort-error'))).toContain('1 to 65535'))
    expect(document.activeElement?.id).toBe('set-receiverPort')
    expect(backend.calls.some(([m]) => m === 'settingsSave')).toBe(false)

    type(view.$('#set-receiverPort'), '9000')
    type(view.$('#set-retentionDays'), '365')
    click(view.$('#set-backgroundReceiving'))
    click(view.$('#settings-save'))
    await vi.waitFor(() => expect(text(view!.$('main [role="status"].status'))).toBe('Settings saved.'))
    expect(saved).toMatchObject({
      org: { name: 'Acme GmbH' },
      receiver_port: 9000,
      retention_days: 365,
      background_receiving: true,
    })
  })

  it('lists orphaned keychain entries in words and removes them after a confirmation', async () => {
    const orphans: KeychainReport['orphans'] = [
      { entry: 'ab12/processor/1/signing-secret', namespace: 'ab12', processor_id: 1, kind: 'signing-secret', reason: 'install_replaced', data_dir: '/home/officer/pd' },
      { entry: '3f0c/processor/4/api-key', namespace: '3f0c', processor_id: 4, kind: 'api-key', reason: 'processor_deleted', data_dir: null },
    ]
    const backend = createMockBackend({
      keychainCheck: keychainReport({ orphans }),
      keychainRemoveOrphans: keychainReport({ removed: orphans.map((o) => o.entry) }),
    })
    view = renderApp(backend, '#/settings')
    await vi.waitFor(() => expect(view!.$('#keychain-orphans')).not.toBeNull())
    expect(text(view.$('#keychain-summary'))).toBe('3 entries in use.')
    const items = view.$$('#keychain-orphans li').map(text)
    expect(items).toEqual([
      'Webhook signing secret — its data folder /home/officer/pd now holds another database',
      'Stripe API key — processor 4 was deleted',
    ])
    click(view.$('#keychain-remove'))
    expect(backend.calls.some(([m]) => m === 'keychainRemoveOrphans')).toBe(false)
    await vi.waitFor(() => expect(view!.$('#keychain-remove-confirm')).not.toBeNull())
    click(view.$('#keychain-remove-confirm'))
    await vi.waitFor(() => expect(text(view!.$('#keychain-check [role="status"]'))).toBe('2 orphaned entries removed.'))
    expect(view.$('#keychain-orphans')).toBeNull()
    expect(text(view.$('#keychain-summary'))).toBe('3 entries in use; no orphaned entries.')
  })

  it('checks the keychain afresh each time Settings is shown, saying so until the new count is in', async () => {
    let entries = 3
    let answer: (() => void) | null = null
    const backend = createMockBackend({
      keychainCheck: () => {
        const report = keychainReport({ entries })
        return entries === 3 ? report : new Promise((resolve) => (answer = () => resolve(report)))
      },
    })
    view = renderApp(backend, '#/settings')
    await vi.waitFor(() => expect(text(view!.$('#keychain-summary'))).toBe('3 entries in use; no orphaned entries.'))
    navigate('#/processors')
    entries = 5
    navigate('#/settings')
    // Not the count of the last visit while the keychain is read again.
    expect(view.$('#keychain-summary')).toBeNull()
    expect(text(view.$('#keychain-check'))).toContain('Checking…')
    await vi.waitFor(() => expect(answer).not.toBeNull())
    answer!()
    await vi.waitFor(() => expect(text(view!.$('#keychain-summary'))).toBe('5 entries in use; no orphaned entries.'))
  })

  describe('start at login', () => {
    const box = () => view!.$<HTMLInputElement>('#set-autostart')!

    it('is off on a new install; a click turns it on at once, outside "Save settings"', async () => {
      const backend = createMockBackend()
      view = renderApp(backend, '#/settings')
      await vi.waitFor(() => expect(box()?.disabled).toBe(false))
      expect(box().checked).toBe(false)
      expect(box().getAttribute('role')).toBe('switch')
      expect(text(view.$('label:has(#set-autostart)'))).toBe('Start Privacy Desk when I log in')
      expect(text(view.$('#set-autostart-hint'))).toBe('It starts in the tray and receives events, with no window, so none wait for the catch-up after a restart.')
      expect(box().getAttribute('aria-describedby')).toBe('set-autostart-hint')
      expect(backend.calls.filter(([m]) => m === 'autostartGet')).toHaveLength(1)

      click(box())
      await vi.waitFor(() => expect(text(view!.$('#set-autostart-saved'))).toBe('Saved.'))
      expect(backend.calls.find(([m]) => m === 'autostartSet')?.[1]).toEqual([true])
      expect(box().checked).toBe(true)
      expect(box().disabled).toBe(false)
      expect(backend.calls.some(([m]) => m === 'settingsSave')).toBe(false)
      // The settings form is not dirty: the switch is not one of its fields.
      expect(view.$<HTMLButtonElement>('.form-footer button[type="button"]')?.disabled).toBe(true)

      click(box())
      expect(box().disabled).toBe(true)
      await vi.waitFor(() => expect(box().disabled).toBe(false))
      expect(backend.calls.at(-1)).toEqual(['autostartSet', [false]])
      expect(box().checked).toBe(false)
      expect(text(view.$('#set-autostart-saved'))).toBe('Saved.')
    })

    it('shows it on when the system starts Privacy Desk at login', async () => {
      view = renderApp(createMockBackend({ autostartGet: true }), '#/settings')
      await vi.waitFor(() => expect(box()?.disabled).toBe(false))
      expect(box().checked).toBe(true)
    })

    it('is disabled while the call runs', async () => {
      let answer: (on: boolean) => void = () => {}
      const backend = createMockBackend({ autostartSet: () => new Promise<boolean>((resolve) => (answer = resolve)) })
      view = renderApp(backend, '#/settings')
      await vi.waitFor(() => expect(box()?.disabled).toBe(false))
      click(box())
      await vi.waitFor(() => expect(box().disabled).toBe(true))
      expect(box().getAttribute('aria-busy')).toBe('true')
      answer(true)
      await vi.waitFor(() => expect(box().disabled).toBe(false))
      expect(box().checked).toBe(true)
    })

    it('shows why it failed and puts the switch back', async () => {
      const backend = createMockBackend()
      view = renderApp(backend, '#/settings')
      await vi.waitFor(() => expect(box()?.disabled).toBe(false))
      backend.failNext('autostartSet', { code: 'io', message: 'could not write ~/.config/autostart/privacy-desk.desktop: permission denied' })
      click(box())
      await vi.waitFor(() => expect(text(view!.$('#set-autostart-error'))).toBe('could not write ~/.config/autostart/privacy-desk.desktop: permission denied'))
      expect(view.$('#set-autostart-error')?.getAttribute('role')).toBe('alert')
      expect(box().checked).toBe(false)
      expect(box().disabled).toBe(false)
      expect(box().getAttribute('aria-describedby')).toBe('set-autostart-hint set-autostart-error')
      expect(text(view.$('#set-autostart-saved'))).toBe('')

      // The next try clears the message.
      click(box())
      expect(view.$('#set-autostart-error')).toBeNull()
      await vi.waitFor(() => expect(text(view!.$('#set-autostart-saved'))).toBe('Saved.'))
      expect(box().checked).toBe(true)
    })

    it('stays disabled, with the reason, when the setting cannot be read', async () => {
      const backend = createMockBackend()
      backend.failNext('autostartGet', { code: 'io', message: 'no autostart folder' })
      view = renderApp(backend, '#/settings')
      await vi.waitFor(() => expect(text(view!.$('#set-autostart-load-error'))).toContain('no autostart folder'))
      expect(box().disabled).toBe(true)
      click(view.$('#set-autostart-load-error button'))
      await vi.waitFor(() => expect(box().disabled).toBe(false))
      expect(view.$('#set-autostart-load-error')).toBeNull()
    })
  })

  it('shows the backend message when saving fails', async () => {
    const backend = createMockBackend()
    view = renderApp(backend, '#/settings')
    await vi.waitFor(() => expect(view!.$('#settings-save')).not.toBeNull())
    backend.failNext('settingsSave', { code: 'invalid_input', message: 'port 80 needs administrator rights' })
    click(view.$('#settings-save'))
    await vi.waitFor(() => expect(text(view!.$('[role="alert"]'))).toBe('port 80 needs administrator rights'))
  })
})
