import { afterEach, describe, expect, it, vi } from 'vitest'
import { emptyFields } from '../lib/ropa'
import type { ProcessingActivity, Ropa } from '../lib/types'
import { click, renderApp, text, type } from '../test/app'
import { defaultSettings, emptyRopa, processorFixtures, stripeProcessor } from '../test/fixtures'
import { createMockBackend } from '../test/mockIpc'

let view: ReturnType<typeof renderApp> | null = null
afterEach(() => {
  view?.destroy()
  view = null
})

function ropa(): Ropa {
  return {
    ...emptyRopa(),
    activities: [
      {
        id: 1,
        default_key: 'stripe:payments',
        fields: {
          ...emptyFields(),
          purpose: 'Taking payments for orders and subscriptions',
          lawful_basis: 'Art. 6(1)(b) contract',
          data_categories: ['email', 'name'],
        },
        processor_ids: [1],
        processors: ['Stripe'],
        observed: ['email', 'phone'],
        updated_at: '2026-03-01T00:00:00Z',
      },
    ],
    gaps: [{ processor_id: 1, processor: 'Stripe', category: 'phone', label: 'Phone number', events: 3, activities: ['Taking payments for orders and subscriptions'] }],
  }
}

describe('reports', () => {
  it('previews the record, shows gaps, and exports into Downloads in one click or through the save dialog', async () => {
    const settings = { ...defaultSettings(), org: { ...defaultSettings().org, name: 'Bloggs Ltd' } }
    const backend = createMockBackend({
      ...processorFixtures([stripeProcessor(1)]),
      ropaReport: { ...ropa(), controller: settings.org },
      settingsGet: settings,
      chooseSavePath: '/tmp/ropa.pdf',
      ropaExport: 1,
      ropaExportToDownloads: { path: '/home/dpo/Downloads/ropa-2026-12-03.pdf', activities: 1 },
    })
    view = renderApp(backend, '#/reports')
    await vi.waitFor(() => expect(view!.$$('#ropa-activities tbody tr')).toHaveLength(1))
    expect(view.$('#nav-reports')?.getAttribute('aria-current')).toBe('page')
    expect(text(view.$('#ropa-controller'))).toContain('Bloggs Ltd')
    expect(text(view.$('#ropa-gaps'))).toContain('Phone number from Stripe (3 events)')

    type(view.$<HTMLSelectElement>('#ropa-format'), 'pdf')
    // One click: into Downloads, no dialog.
    click(view.$('#ropa-export'))
    await vi.waitFor(() =>
      expect(text(view!.$('#ropa-export-status'))).toContain('Exported 1 processing activity to /home/dpo/Downloads/ropa-2026-12-03.pdf'),
    )
    expect(backend.calls.find(([m]) => m === 'ropaExportToDownloads')?.[1]).toEqual(['pdf'])
    expect(backend.calls.some(([m]) => m === 'chooseSavePath')).toBe(false)
    // "Save as…": the save dialog's answer.
    click(view.$('#ropa-export-as'))
    await vi.waitFor(() => expect(text(view!.$('#ropa-export-status'))).toContain('Exported 1 processing activity to /tmp/ropa.pdf'))
    expect(backend.calls.find(([m]) => m === 'chooseSavePath')?.[1][2]).toBe('pdf')
    expect(backend.calls.find(([m]) => m === 'ropaExport')?.[1]).toEqual(['pdf', '/tmp/ropa.pdf'])
  })

  it('edits an activity, which closes the gap, and records checklist steps', async () => {
    // The backend's answers after the edit: the activity declares phone (the gap closes), the step is done.
    const report = ropa()
    const backend = createMockBackend({
      ...processorFixtures([stripeProcessor(1)]),
      ropaReport: () => report,
      ropaActivitySave: (id, fields, processorIds): ProcessingActivity => {
        const a = { ...report.activities[0], id: id ?? 2, fields, processor_ids: processorIds }
        report.activities = [a]
        report.gaps = []
        return a
      },
      ropaChecklistSet: (key, doneOn, evidence) =>
        (report.checklist = report.checklist.map((c) => (c.key === key ? { ...c, done_on: doneOn, evidence } : c))),
    })
    view = renderApp(backend, '#/reports')
    await vi.waitFor(() => expect(view!.$('[data-edit="1"]')).not.toBeNull())
    expect(view.$('#controller-missing')).not.toBeNull()
    click(view.$('[data-edit="1"]'))
    const cats = view.$<HTMLInputElement>('#act-data_categories')!
    type(cats, `${cats.value}\nphone`)
    type(view.$<HTMLInputElement>('#act-last_review'), '2026-03-30')
    click(view.$('#activity-save'))
    await vi.waitFor(() => expect(view!.$('#ropa-no-gaps')).not.toBeNull())
    const saved = backend.calls.find(([m]) => m === 'ropaActivitySave')!
    expect(saved[1][0]).toBe(1)
    expect((saved[1][1] as { data_categories: string[] }).data_categories).toEqual(['email', 'name', 'phone'])
    expect(saved[1][2]).toEqual([1])

    const row = '[data-step="dpa_executed"]'
    type(view.$<HTMLInputElement>(`${row} input[aria-label$="done on"]`), '2026-03-01')
    type(view.$<HTMLInputElement>(`${row} input[aria-label$="evidence"]`), 'https://drive.example/dpa.pdf')
    click(view.$('[data-save-step="dpa_executed"]'))
    await vi.waitFor(() => expect(text(view!.$('#checklist-progress'))).toBe('1 of 6 done'))
  })

  it('refuses an activity without a purpose', async () => {
    const backend = createMockBackend({ ropaReport: ropa() })
    view = renderApp(backend, '#/reports')
    await vi.waitFor(() => expect(view!.$('#ropa-add')).not.toBeNull())
    click(view.$('#ropa-add'))
    click(view.$('#activity-save'))
    expect(text(view.$('#activity-form'))).toContain('Enter the purpose')
    expect(backend.calls.some(([m]) => m === 'ropaActivitySave')).toBe(false)
  })
})
