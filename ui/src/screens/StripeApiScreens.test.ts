// Dashboard tunnel card and catch-up, Processors backfill panel.
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { BackfillReport, TunnelInfo, TunnelStatus } from '../lib/types'
import { click, navigate, renderApp, text, type } from '../test/app'
import { dashboard, noKey, processorFixtures, stripeProcessor } from '../test/fixtures'
import { createMockBackend, type MockBackend } from '../test/mockIpc'

let view: ReturnType<typeof renderApp> | null = null
afterEach(() => {
  view?.destroy()
  view = null
})

const TOKEN = '2abcDEFghiJKLmnoPQRstu_vwxyz0123'

/** The tunnel as the dashboard shows it; `start` answers what the backend would (or throws its error). */
function tunnel(backend: MockBackend, start: () => TunnelStatus) {
  let status: TunnelStatus = { state: 'off', public_url: null, error: null }
  const info = (): TunnelInfo => ({ token_set: true, running: status.state === 'on', url: status.public_url, forwards_to: 'http://127.0.0.1:8787', started_at: null })
  backend.fixtures.dashboard = () => dashboard([], { tunnel: status })
  backend.fixtures.tunnelSetToken = null
  backend.fixtures.tunnelStart = () => {
    status = start()
    if (status.state === 'error') throw { code: 'unavailable', message: status.error ?? '' }
    return info()
  }
  backend.fixtures.tunnelStop = () => ((status = { state: 'off', public_url: null, error: null }), info())
  return { status: () => status, fail: (code: string, message: string) => (start = () => { status = { state: 'error', public_url: null, error: message }; throw { code, message } }) }
}

describe('dashboard: tunnel', () => {
  it('does not keep a token typed but not saved when the user leaves the Dashboard', async () => {
    const backend = createMockBackend()
    view = renderApp(backend, '#/dashboard')
    await vi.waitFor(() => expect(view!.$('#tunnel-token')).not.toBeNull())
    const input = view.$<HTMLInputElement>('#tunnel-token')!
    type(input, TOKEN)
    navigate('#/requests')
    navigate('#/dashboard')
    // The same screen is back (it stays built), without the secret.
    expect(view.$('#tunnel-token')).toBe(input)
    expect(input.value).toBe('')
  })

  it('saves the token, starts (public URL with Copy), and stops', async () => {
    const backend = createMockBackend()
    const t = tunnel(backend, () => ({ state: 'on', public_url: 'https://privacy-desk-test.ngrok.app', error: null }))
    view = renderApp(backend, '#/dashboard')
    await vi.waitFor(() => expect(view!.$('#tunnel-start')).not.toBeNull())
    expect(view.$('#tunnel-stop')).toBeNull()
    expect(view.$<HTMLInputElement>('#tunnel-token')?.type).toBe('password')

    type(view.$('#tunnel-token'), 'nope')
    click(view.$('#tunnel-token-save'))
    await vi.waitFor(() => expect(text(view!.$('#tunnel-token-error'))).toMatch(/not an ngrok authtoken/))
    expect(backend.calls.some(([m]) => m === 'tunnelSetToken')).toBe(false)

    type(view.$('#tunnel-token'), ` ${TOKEN} `)
    click(view.$('#tunnel-token-save'))
    await vi.waitFor(() => expect(text(view!.$('#tunnel-card'))).toContain('Authtoken saved'))
    expect(backend.calls.find(([m]) => m === 'tunnelSetToken')?.[1]).toEqual([TOKEN])
    expect(view.$<HTMLInputElement>('#tunnel-token')?.value).toBe('')

    click(view.$('#tunnel-start'))
    await vi.waitFor(() => expect(text(view!.$('#tunnel-url'))).toBe('https://privacy-desk-test.ngrok.app'))
    expect(view.$('#copy-tunnel-url')).not.toBeNull()
    expect(text(view.$('#tunnel-card'))).toContain('Online')
    expect(view.$('#tunnel-error')).toBeNull()

    click(view.$('#tunnel-stop'))
    await vi.waitFor(() => expect(view!.$('#tunnel-start')).not.toBeNull())
    expect(view.$('#tunnel-url')).toBeNull()
    expect(t.status().state).toBe('off')
  })

  it('explains a missing token, a wrong token and being offline', async () => {
    const backend = createMockBackend()
    const t = tunnel(backend, () => ({ state: 'on', public_url: 'https://x.ngrok.app', error: null }))
    t.fail('not_found', 'no ngrok authtoken: set one with `privacy-desk tunnel set-token` (on stdin)')
    view = renderApp(backend, '#/dashboard')
    await vi.waitFor(() => expect(view!.$('#tunnel-start')).not.toBeNull())

    click(view.$('#tunnel-start'))
    await vi.waitFor(() => expect(view!.$('#tunnel-error')?.getAttribute('data-problem')).toBe('no_token'))
    expect(text(view.$('#tunnel-error'))).toContain('No ngrok authtoken is stored yet')
    expect(view.$('#tunnel-error')?.getAttribute('role')).toBe('alert')

    t.fail('invalid_input', 'ngrok rejected the authtoken (ERR_NGROK_105): set the right one')
    click(view.$('#tunnel-start'))
    await vi.waitFor(() => expect(view!.$('#tunnel-error')?.getAttribute('data-problem')).toBe('wrong_token'))
    expect(text(view.$('#tunnel-error'))).toContain('ERR_NGROK_105')

    t.fail('unavailable', 'cannot reach ngrok: ConnectionRefused (offline?); check the network connection')
    click(view.$('#tunnel-start'))
    await vi.waitFor(() => expect(view!.$('#tunnel-error')?.getAttribute('data-problem')).toBe('offline'))
    expect(text(view.$('#tunnel-error'))).toContain('seems to be offline')
  })

  it('shows an error the backend reports on its own', async () => {
    const backend = createMockBackend({
      dashboard: dashboard([], { tunnel: { state: 'error', public_url: null, error: 'cannot reach ngrok: TimedOut (offline?)' } }),
    })
    view = renderApp(backend, '#/dashboard')
    await vi.waitFor(() => expect(view!.$('#tunnel-error')).not.toBeNull())
    expect(view.$('#tunnel-error')?.getAttribute('data-problem')).toBe('offline')
  })
})

describe('dashboard: catch-up', () => {
  it('shows the last catch-up per Stripe processor and runs one', async () => {
    let last = { last_run_at: '2026-03-30T10:00:00Z', fetched: 12, new: 3, duplicates: 9 }
    const backend = createMockBackend({
      ...processorFixtures([stripeProcessor(1, { status: 'interconnected' }), stripeProcessor(2, { name: 'Stripe EU' })]),
      stripeLastCatchUp: (id) => (id === 1 ? last : { last_run_at: null, fetched: 0, new: 0, duplicates: 0 }),
      stripeCatchUp: (id) => {
        if (id !== 1) throw noKey(id)
        last = { last_run_at: new Date().toISOString(), fetched: 40, new: 2, duplicates: 38 }
        return { fetched: 40, new: 2, duplicates: 38 }
      },
    })
    view = renderApp(backend, '#/dashboard')
    await vi.waitFor(() => expect(text(view!.$('[data-catch-up-for="1"]'))).toContain('12 fetched · 3 new · 9 duplicates'))
    expect(text(view.$('[data-catch-up-for="2"]'))).toContain('No catch-up yet')
    expect(view.$('#catch-up-now')).not.toBeNull()
    expect(view.$('#catch-up-now-2')).not.toBeNull()

    click(view.$('#catch-up-now'))
    await vi.waitFor(() => expect(text(view!.$('[data-catch-up-for="1"] .catch-up-result'))).toBe('Caught up: 40 fetched · 2 new · 38 duplicates.'))
    expect(text(view.$('[data-catch-up-for="1"] .catch-up-status'))).toContain('40 fetched')
    expect(backend.calls.find(([m]) => m === 'stripeCatchUp')?.[1]).toEqual([1])

    // Processor 2 has no key: say so, with a way to add one.
    click(view.$('#catch-up-now-2'))
    await vi.waitFor(() => expect(text(view!.$('[data-catch-up-for="2"] .catch-up-error'))).toContain('no Stripe API key'))
    expect(view.$('[data-catch-up-for="2"] .catch-up-error a')?.getAttribute('href')).toBe('#/processors/2')
  })
})

describe('processors: backfill', () => {
  it('imports the chosen resources with a progress bar fed by events, then shows the report', async () => {
    let release!: () => void
    const paused = new Promise<void>((r) => (release = r))
    const backend: MockBackend = createMockBackend({
      ...processorFixtures([stripeProcessor(1, { status: 'interconnected' })]),
      // Customers in three pages (100, 100, 50), paused after the second; charges in one (30).
      stripeBackfill: async (): Promise<BackfillReport> => {
        backend.emit('backfill-progress', { resource: 'customers', imported: 100, pages: 1, done: false })
        backend.emit('backfill-progress', { resource: 'customers', imported: 200, pages: 2, done: false })
        await paused
        backend.emit('backfill-progress', { resource: 'customers', imported: 250, pages: 3, done: true })
        backend.emit('backfill-progress', { resource: 'charges', imported: 30, pages: 1, done: true })
        return {
          cancelled: false,
          resources: [
            { resource: 'customers', fetched: 250, new: 250, duplicates: 0, imported_total: 250, done: true },
            { resource: 'charges', fetched: 30, new: 30, duplicates: 0, imported_total: 30, done: true },
          ],
        }
      },
    })

    view = renderApp(backend, '#/processors')
    await vi.waitFor(() => expect(view!.$('#backfill-start')).not.toBeNull())
    expect(view.$<HTMLInputElement>('#backfill-customers')?.checked).toBe(true)
    expect(view.$<HTMLInputElement>('#backfill-charges')?.checked).toBe(false)
    click(view.$('#backfill-charges'))
    click(view.$('#backfill-start'))

    // Mid-run: customers at page 2 of 3.
    await vi.waitFor(() => expect(text(view!.$('[data-resource="customers"]'))).toContain('200 imported · page 2'))
    const bar = view.$<HTMLProgressElement>('#backfill-progress')!
    expect(bar.getAttribute('aria-label')).toBe('Backfill progress for Stripe')
    expect(bar.max).toBe(2)
    expect(bar.value).toBe(0.5)
    expect(bar.getAttribute('aria-valuetext')).toContain('importing customers')
    expect(view.$<HTMLButtonElement>('#backfill-start')?.disabled).toBe(true)
    expect(view.$<HTMLInputElement>('#backfill-invoices')?.closest('fieldset')?.disabled).toBe(true)

    release()
    await vi.waitFor(() => expect(view!.$('#backfill-report')).not.toBeNull())
    expect(backend.calls.find(([m]) => m === 'stripeBackfill')?.[1]).toEqual([1, ['customers', 'charges']])
    expect(view.$<HTMLProgressElement>('#backfill-progress')?.value).toBe(2)
    expect(text(view.$('#backfill-status'))).toBe('Done: 280 objects imported from 2 resources.')
    expect(text(view.$('#backfill-report tr[data-resource="customers"]'))).toContain('250')
    expect(text(view.$('#backfill-report tr[data-resource="charges"]'))).toContain('Complete')
    expect(view.$<HTMLButtonElement>('#backfill-start')?.disabled).toBe(false)
    expect(backend.listenerCount('backfill-progress')).toBe(0)
  })

  it('needs a resource; shows a failure with how to resume', async () => {
    const backend = createMockBackend(processorFixtures([stripeProcessor(1)]))
    view = renderApp(backend, '#/processors')
    await vi.waitFor(() => expect(view!.$('#backfill-start')).not.toBeNull())
    click(view.$('#backfill-customers'))
    expect(view.$<HTMLButtonElement>('#backfill-start')?.disabled).toBe(true)
    click(view.$('#backfill-customers'))
    click(view.$('#backfill-start'))
    await vi.waitFor(() => expect(text(view!.$('#backfill-error'))).toContain('no Stripe API key'))
    expect(text(view.$('#backfill-error'))).toContain('resume')
  })
})

describe('processors: erasure at Stripe', () => {
  it('keeps delete when the account has no redaction jobs, switches when it has them', async () => {
    let redactionJobs = false
    const backend = createMockBackend({
      ...processorFixtures([stripeProcessor(1, { status: 'interconnected' })]),
      stripeSetErasureMethod: (_id, method) => {
        if (!redactionJobs) throw { code: 'blocked', message: 'Stripe does not offer redaction jobs to this account or key (a Stripe preview feature)' }
        return method as 'redaction_job'
      },
    })
    view = renderApp(backend, '#/processors')
    await vi.waitFor(() => expect(view!.$<HTMLInputElement>('#erasure-method-delete')?.checked).toBe(true))

    click(view.$('#erasure-method-redaction'))
    await vi.waitFor(() => expect(text(view!.$('#erasure-method [role=alert]'))).toMatch(/not offer redaction jobs/))
    expect(view.$<HTMLInputElement>('#erasure-method-delete')?.checked).toBe(true)

    redactionJobs = true
    click(view.$('#erasure-method-redaction'))
    await vi.waitFor(() => expect(text(view!.$('#erasure-method [role=status]'))).toMatch(/redaction jobs/))
    expect(view.$<HTMLInputElement>('#erasure-method-redaction')?.checked).toBe(true)
    expect(view.$('#erasure-method [role=alert]')).toBeNull()
    expect(backend.calls.filter(([m]) => m === 'stripeSetErasureMethod').map(([, a]) => a)).toEqual([
      [1, 'redaction_job'],
      [1, 'redaction_job'],
    ])
  })
})
