import { afterEach, describe, expect, it, vi } from 'vitest'
import type { AccessPackage, AccessReview, Withheld } from '../lib/types'
import { click, renderApp, text, type } from '../test/app'
import { accessReview, pageState, request } from '../test/fixtures'
import { createMockBackend } from '../test/mockIpc'

let view: ReturnType<typeof renderApp> | null = null
afterEach(() => {
  view?.destroy()
  view = null
})

const CHARGE = 'activity:evt_ch2'

/** A package built for request 1: a profile and two charges, nothing withheld yet. */
function built(): AccessReview {
  return accessReview(1, {
    state: { built: true, released: false, withheld: 0 },
    path: '/home/officer/Downloads/access-request-1.zip',
    sha256: 'ab'.repeat(32),
    built_at: '2026-01-05T10:00:00Z',
    stripe: 'not_configured',
    files: [
      { name: 'profile.json', sha256: 'c1', bytes: 120, records: 1 },
      { name: 'summary.html', sha256: 'c2', bytes: 4000, records: null },
    ],
    categories: [
      { name: 'profile', title: 'Profile', records: [{ id: 'profile:1', data: { name: 'Zoe Tester', email: 'zoe@example.org' }, fields: ['name', 'email'], withheld: false, withheld_fields: [] }] },
      {
        name: 'activity',
        title: 'Processing activity',
        records: [
          {
            id: 'activity:evt_ch1',
            data: { event_type: 'stripe:charge.succeeded', event_id: 'evt_ch1', occurred_at: '2026-01-05T10:00:00Z', details: { amount: 1500, currency: 'eur' } },
            fields: ['event_type', 'event_id', 'occurred_at', 'details', 'details.amount', 'details.currency'],
            withheld: false,
            withheld_fields: [],
          },
          {
            id: CHARGE,
            data: { event_type: 'stripe:charge.succeeded', event_id: 'evt_ch2', personal_data: { name: 'Quentin Otherby' }, details: { amount: 987654, currency: 'eur' } },
            fields: ['event_type', 'event_id', 'personal_data', 'personal_data.name', 'details', 'details.amount', 'details.currency'],
            withheld: false,
            withheld_fields: [],
          },
        ],
      },
    ],
  })
}

function setup(review: AccessReview) {
  let current = review
  const withheldRow = (record_id: string, field: string | null, ground: string, text: string | null): Withheld => ({
    record_id,
    field,
    ground: ground as Withheld['ground'],
    ground_label: current.grounds.find((g) => g.value === ground)?.label ?? ground,
    text,
    at: '2026-01-05T11:00:00Z',
    in_package: true,
  })
  const backend = createMockBackend({
    requestPage: (id) => ({ ...request(id, { kind: 'access', status: 'in_progress', identity_method: 'email reply' }), steps: [], ...pageState() }),
    accessReview: () => current,
    // The backend's answer after a decision, as this test states it.
    accessWithhold: (_id, recordId, field, ground, text) => {
      const w = withheldRow(recordId, field, ground, text)
      current = {
        ...current,
        state: { ...current.state, withheld: current.withheld.length + 1 },
        withheld: [...current.withheld, w],
        categories: current.categories.map((c) => ({
          ...c,
          records: c.records.map((r) => (r.id !== recordId ? r : field ? { ...r, withheld_fields: [...r.withheld_fields, field] } : { ...r, withheld: true })),
        })),
      }
      return current
    },
    accessUnwithhold: (_id, recordId) => {
      current = {
        ...current,
        state: { ...current.state, withheld: 0 },
        withheld: current.withheld.filter((w) => w.record_id !== recordId),
        categories: current.categories.map((c) => ({ ...c, records: c.records.map((r) => (r.id === recordId ? { ...r, withheld: false } : r)) })),
      }
      return current
    },
    accessRelease: (id, dir): AccessPackage => {
      current = { ...current, state: { ...current.state, released: true }, released_at: '2026-01-05T12:00:00Z' }
      return { path: `${dir ?? '/home/officer/Downloads'}/access-request-${id}.zip`, sha256: 'cd'.repeat(32), stripe: 'not_configured', files: [], foreign_objects_dropped: 0 }
    },
  })
  return backend
}

describe('the access package review', () => {
  it('lists every record in plain words, withholds one for another person, and releases', async () => {
    const backend = setup(built())
    view = renderApp(backend, '#/requests/1')
    await vi.waitFor(() => expect(view!.$('#access-review')).not.toBeNull())
    expect(text(view.$('#review-summary'))).toBe('3 records in 2 categories. Nothing is withheld.')
    const line = text(view.$(`li[data-record-id="${CHARGE}"] .line`))
    expect(line).toContain('Charge succeeded')
    expect(line).toContain('9,876.54')
    expect(line).toContain('evt_ch2')

    click(view.$(`li[data-record-id="${CHARGE}"] .withhold-open`))
    expect(view.$<HTMLButtonElement>('#withhold-submit')?.disabled).toBe(true)
    click(view.$('#withhold-form input[value="other_person"]'))
    expect(view.$<HTMLButtonElement>('#withhold-submit')?.disabled).toBe(false)
    click(view.$('#withhold-submit'))
    await vi.waitFor(() => expect(view!.$(`li[data-record-id="${CHARGE}"] [data-withheld="record"]`)).not.toBeNull())
    expect(backend.calls.find(([m]) => m === 'accessWithhold')?.[1]).toEqual([1, CHARGE, null, 'other_person', null])
    expect(text(view.$(`li[data-record-id="${CHARGE}"] [data-withheld="record"]`))).toContain("Another person's data (Art. 15(4))")
    expect(text(view.$('#review-summary'))).toBe('3 records in 2 categories. Withheld so far: 1 record.')
    expect(view.$('#withhold-form')).toBeNull()

    click(view.$('#release-access'))
    await vi.waitFor(() => expect(view!.$('#release-result')).not.toBeNull())
    expect(backend.calls.find(([m]) => m === 'accessRelease')?.[1]).toEqual([1, null])
    expect(text(view.$('#release-path'))).toBe('/home/officer/Downloads/access-request-1.zip')
    // Released: nothing more to withhold or undo.
    await vi.waitFor(() => expect(view!.$('#access-review')?.dataset.released).toBe('true'))
    expect(view.$('.withhold-open')).toBeNull()
    expect(view.$('.undo')).toBeNull()
    expect(view.$('#release-access')).toBeNull()
    expect(text(view.$('#review-withheld'))).toBe(`${CHARGE} — Another person's data (Art. 15(4))`)
  })

  it('withholds a single detail only with the reason in words, and undoes a decision', async () => {
    const backend = setup(built())
    view = renderApp(backend, '#/requests/1')
    await vi.waitFor(() => expect(view!.$('#access-review')).not.toBeNull())
    click(view.$(`li[data-record-id="${CHARGE}"] .withhold-open`))
    type(view.$<HTMLSelectElement>('#withhold-field'), 'personal_data.name')
    click(view.$('#withhold-form input[value="other"]'))
    expect(view.$<HTMLButtonElement>('#withhold-submit')?.disabled).toBe(true)
    type(view.$<HTMLInputElement>('#withhold-text'), 'the person who paid for the gift')
    click(view.$('#withhold-submit'))
    await vi.waitFor(() => expect(view!.$(`[data-withheld="personal_data.name"]`)).not.toBeNull())
    expect(backend.calls.find(([m]) => m === 'accessWithhold')?.[1]).toEqual([1, CHARGE, 'personal_data.name', 'other', 'the person who paid for the gift'])
    expect(text(view.$(`[data-withheld="personal_data.name"]`))).toContain('Personal data › Name: the person who paid for the gift')

    click(view.$(`[data-withheld="personal_data.name"] .undo`))
    await vi.waitFor(() => expect(view!.$(`[data-withheld="personal_data.name"]`)).toBeNull())
    expect(backend.calls.find(([m]) => m === 'accessUnwithhold')?.[1]).toEqual([1, CHARGE, 'personal_data.name'])
  })

  it('shows a refusal in the form', async () => {
    const backend = setup(built())
    backend.failNext('accessWithhold', { code: 'blocked', message: 'the access package of request 1 was released on 2026-01-05' })
    view = renderApp(backend, '#/requests/1')
    await vi.waitFor(() => expect(view!.$('#access-review')).not.toBeNull())
    click(view.$(`li[data-record-id="${CHARGE}"] .withhold-open`))
    click(view.$('#withhold-form input[value="legal_privilege"]'))
    click(view.$('#withhold-submit'))
    await vi.waitFor(() => expect(text(view!.$('#withhold-form [role="alert"]'))).toContain('was released on'))
  })

  it('shows nothing before a package is built', async () => {
    const backend = setup(accessReview(1))
    view = renderApp(backend, '#/requests/1')
    await vi.waitFor(() => expect(view!.$('#build-access')).not.toBeNull())
    await vi.waitFor(() => expect(backend.calls.some(([m]) => m === 'accessReview')).toBe(true))
    expect(view.$('#access-review')).toBeNull()
  })
})
