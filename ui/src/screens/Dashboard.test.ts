// The Dashboard's "Background work" card, over the invoke-level mock.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { formatDateTime, relativeTime } from '../lib/format'
import type { Health } from '../lib/types'
import { click, navigate, renderApp, text } from '../test/app'
import { HEALTH_CHECKS, attempt, backupFixtures, backupStatus, health, jobsReport, processorFixtures, stripeProcessor } from '../test/fixtures'
import { createMockBackend } from '../test/mockIpc'

let view: ReturnType<typeof renderApp> | null = null
afterEach(() => {
  view?.destroy()
  view = null
})

const ago = (ms: number) => new Date(Date.now() - ms).toISOString()
const inFuture = (ms: number) => new Date(Date.now() + ms).toISOString()

describe('dashboard: background work', () => {
  it('lists every job by its title with last run, next run and its outcome', async () => {
    const backend = createMockBackend({
      ...processorFixtures([stripeProcessor(1, { name: 'Stripe EU' })]),
      jobsReport: jobsReport({
        catch_up: {
          last_run_at: ago(2 * 60_000),
          last_ok_at: ago(2 * 60_000),
          next_run_at: inFuture(13 * 60_000),
          summary: 'no Stripe processor with an API key',
        },
        retention: {
          last_run_at: ago(3 * 3_600_000),
          next_run_at: inFuture(2_000),
          last_error: 'database is locked',
          failures: 3,
        },
      }),
    })
    view = renderApp(backend, '#/dashboard')
    await vi.waitFor(() => expect(view!.$$('#jobs-table tbody tr')).toHaveLength(7))
    const card = text(view.$('#jobs-card'))
    expect(card).toContain('Background work')
    for (const title of ['Catch up with Stripe', 'Customer lookups and thin events', 'Retention purges', 'Deadline reminders', 'Deliveries log cap', 'Erasures waiting to finish', 'Daily backup']) {
      expect(card).toContain(title)
    }
    // Titles, never the job ids, are what a reader sees.
    expect(card).not.toContain('stripe_pending')

    const catchUp = view.$('tr[data-job="catch_up"]')
    expect(text(catchUp)).toContain('2 min ago')
    expect(text(catchUp)).toContain('in 13 min')
    expect(text(catchUp?.querySelector('.outcome') ?? null)).toBe('no Stripe processor with an API key')

    const retention = view.$('tr[data-job="retention"]')
    expect(retention?.getAttribute('data-failed')).toBe('true')
    expect(text(retention)).toContain('3 hours ago')
    const error = retention?.querySelector('.outcome')
    expect(text(error ?? null)).toBe('database is locked (failed 3 times in a row)')
    expect(error?.classList.contains('error')).toBe(true)

    const reminders = view.$('tr[data-job="reminders"]')
    expect(text(reminders)).toContain('Never')
    expect(text(reminders)).toContain('not scheduled')
    expect(text(reminders)).toContain('Not run yet')
    expect(view.$('[data-waiting-for]')).toBeNull()
  })

  it('says per Stripe processor how many events wait for an API key, with a way to add one', async () => {
    const fix = "add a Stripe restricted key with read access to Customers and Events on the processor's page (Processors → the processor → Restricted API key)"
    const backend = createMockBackend({
      ...processorFixtures([stripeProcessor(1), stripeProcessor(2, { name: 'Stripe EU' })]),
      jobsReport: jobsReport({}, [{ processor_id: 2, thin_events: 3, unknown_customers: 2, fix }]),
    })
    view = renderApp(backend, '#/dashboard')
    await vi.waitFor(() => expect(view!.$('[data-waiting-for="2"]')).not.toBeNull())
    const notice = view.$('[data-waiting-for="2"]')
    expect(text(notice)).toContain('Stripe EU: 5 events wait for a Stripe API key')
    expect(text(notice)).toContain('3 thin events to fetch, 2 customers to look up')
    expect(text(notice)).toContain(`— ${fix}`)
    expect(notice?.querySelector('a')?.getAttribute('href')).toBe('#/processors/2')
    expect(view.$('[data-waiting-for="1"]')).toBeNull()
  })

  it('keeps the rest of the dashboard when the report cannot be read', async () => {
    const backend = createMockBackend({
      jobsReport: () => {
        throw { code: 'io', message: 'cannot read the jobs table' }
      },
    })
    view = renderApp(backend, '#/dashboard')
    await vi.waitFor(() => expect(text(view!.$('#jobs-card'))).toContain('cannot read the jobs table'))
    expect(text(view.$('#main'))).toContain('Webhook receiver')
  })
})

describe('dashboard: health', () => {
  const RFC3339 = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/
  const checks = () => view!.$$('#health-card [data-check]')

  it('lists every check with its status in words, its detail and what to do', async () => {
    const good = attempt({ at: '2026-03-29T22:15:00Z' })
    const backend = createMockBackend({
      healthCheck: health(
        {
          audit: { status: 'problem', detail: 'entry 41 was edited after it was written', fix: 'restore the last good backup into a new data directory' },
          backup: { status: 'warning', detail: 'the last good backup is 3 days old', fix: 'turn on daily backups in Settings → Backups' },
          disk: { status: 'problem', detail: '150 MB free', fix: 'free disk space' },
        },
        { backup: backupStatus({ last_good: good }) },
      ),
    })
    view = renderApp(backend, '#/dashboard')
    await vi.waitFor(() => expect(checks()).toHaveLength(HEALTH_CHECKS.length))
    expect(checks().map((c) => [c.dataset.check, c.dataset.status])).toEqual([
      ['database', 'ok'],
      ['audit', 'problem'],
      ['keychain', 'ok'],
      ['receiver', 'ok'],
      ['backup', 'warning'],
      ['disk', 'problem'],
    ])
    const row = (name: string) => view!.$(`#health-card [data-check="${name}"]`)
    expect(text(row('database'))).toContain('OK')
    expect(text(row('database'))).toContain('Database')
    expect(text(row('database'))).not.toContain('What to do')
    expect(text(row('audit'))).toContain('Problem')
    expect(text(row('audit'))).toContain('entry 41 was edited after it was written')
    expect(text(row('audit')?.querySelector('.fix') ?? null)).toBe('What to do: restore the last good backup into a new data directory')
    expect(text(row('backup'))).toContain('Warning')
    expect(text(row('backup'))).toContain('What to do: turn on daily backups in Settings → Backups')

    expect(text(view.$('#health-summary'))).toBe('2 problems, 1 warning')
    expect(text(view.$('#health-backup'))).toContain(`Last good backup: ${formatDateTime(good.at)}`)
    expect(text(view.$('#health-checked'))).toBe(`Checked ${formatDateTime('2026-03-30T09:20:00Z')}`)
    expect(text(view.$('#health-card'))).not.toMatch(RFC3339)
    expect(view.$('#health-backups-link')?.getAttribute('href')).toBe('#/settings/backups')
  })

  it('says all is good, and that there is no backup yet, with a way to set one up', async () => {
    view = renderApp(createMockBackend(), '#/dashboard')
    await vi.waitFor(() => expect(checks()).toHaveLength(HEALTH_CHECKS.length))
    expect(text(view.$('#health-summary'))).toBe('All good')
    expect(checks().every((c) => text(c).includes('OK'))).toBe(true)
    expect(text(view.$('#health-backup'))).toContain('No backup yet')
    expect(text(view.$('#health-backups-link'))).toBe('Set up backups')
  })

  it('shows the rest of the dashboard while the checks run, and checks again when asked', async () => {
    let finish: (h: Health) => void = () => {}
    const backend = createMockBackend({ healthCheck: () => new Promise<Health>((resolve) => (finish = resolve)) })
    view = renderApp(backend, '#/dashboard')
    await vi.waitFor(() => expect(view!.$('#health-card')).not.toBeNull())
    expect(text(view.$('#main'))).toContain('Webhook receiver')
    expect(text(view.$('#health-card'))).toContain('Checking the database')
    expect(view.$<HTMLButtonElement>('#health-recheck')?.disabled).toBe(true)

    finish(health({ disk: { status: 'warning', detail: '900 MB free', fix: 'free disk space' } }))
    await vi.waitFor(() => expect(text(view!.$('#health-summary'))).toBe('1 warning'))
    expect(text(view.$('#health-recheck'))).toBe('Check again')

    backend.fixtures.healthCheck = health()
    click(view.$('#health-recheck'))
    await vi.waitFor(() => expect(text(view!.$('#health-summary'))).toBe('All good'))
    // The first load may reuse the backend's last result; "Check again" asks for a fresh one.
    expect(backend.calls.filter(([m]) => m === 'healthCheck').map(([, args]) => args)).toEqual([[false], [true]])
  })

  it('says when the checks could not run, and keeps the rest', async () => {
    const backend = createMockBackend()
    backend.failNext('healthCheck', { code: 'io', message: 'the data directory cannot be read' })
    view = renderApp(backend, '#/dashboard')
    await vi.waitFor(() => expect(text(view!.$('#health-card [role="alert"]'))).toBe('The checks could not run: the data directory cannot be read'))
    expect(text(view.$('#main'))).toContain('Webhook receiver')
    click(view.$('#health-recheck'))
    await vi.waitFor(() => expect(text(view!.$('#health-summary'))).toBe('All good'))
  })
})

describe('dashboard: restore hint', () => {
  it('points a new install to restoring a backup from another computer', async () => {
    const backend = createMockBackend(backupFixtures({ new_install: true }))
    view = renderApp(backend, '#/dashboard')
    await vi.waitFor(() => expect(view!.$('#restore-hint')).not.toBeNull())
    const hint = view.$('#restore-hint')
    expect(text(hint)).toBe('Moving from another computer? Restore a backup')
    expect(hint?.getAttribute('href')).toBe('#/settings/restore')

    navigate(hint!.getAttribute('href')!)
    await vi.waitFor(() => expect(document.activeElement?.id).toBe('restore'))
    expect(view.$('#restore-choose')).not.toBeNull()
  })

  it('is not shown once the install holds records', async () => {
    const backend = createMockBackend(backupFixtures({ new_install: false }))
    view = renderApp(backend, '#/dashboard')
    await vi.waitFor(() => expect(view!.$('#health-card')).not.toBeNull())
    await vi.waitFor(() => expect(backend.calls.some(([m]) => m === 'backupStatus')).toBe(true))
    expect(view.$('#restore-hint')).toBeNull()
  })

  it('is not shown when the backup status cannot be read', async () => {
    const backend = createMockBackend(backupFixtures({ new_install: true }))
    backend.failNext('backupStatus', { code: 'io', message: 'the database cannot be read' })
    view = renderApp(backend, '#/dashboard')
    await vi.waitFor(() => expect(view!.$('#health-card')).not.toBeNull())
    expect(view.$('#restore-hint')).toBeNull()
    expect(text(view.$('#main'))).toContain('Webhook receiver')
  })
})

describe('relativeTime', () => {
  const now = Date.parse('2026-03-30T12:00:00Z')
  it('reads past and future times in words', () => {
    expect(relativeTime('2026-03-30T11:59:50Z', now)).toBe('just now')
    expect(relativeTime('2026-03-30T11:58:00Z', now)).toBe('2 min ago')
    expect(relativeTime('2026-03-30T09:00:00Z', now)).toBe('3 hours ago')
    expect(relativeTime('2026-03-29T12:00:00Z', now)).toBe('1 day ago')
    expect(relativeTime('2026-03-30T12:14:00Z', now)).toBe('in 14 min')
    expect(relativeTime('2026-03-30T12:00:10Z', now)).toBe('in a few seconds')
    expect(relativeTime(null, now)).toBe('—')
  })
})
