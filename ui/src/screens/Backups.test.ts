// Settings → Backups, over the invoke-level mock: what a privacy officer sees and sends.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { formatDateTime } from '../lib/format'
import type { BackupReport } from '../lib/types'
import { click, renderApp, text, type } from '../test/app'
import { DOWNLOADS, attempt, backupFixtures, backupReport, backupSchedule } from '../test/fixtures'
import { createMockBackend } from '../test/mockIpc'

let view: ReturnType<typeof renderApp> | null = null
afterEach(() => {
  view?.destroy()
  view = null
})

const RFC3339 = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/
const PASS = 'correct horse battery staple'

async function openBackups(fixtures: Parameters<typeof createMockBackend>[0] = backupFixtures()) {
  const backend = createMockBackend(fixtures)
  view = renderApp(backend, '#/settings')
  await vi.waitFor(() => expect(view!.$('#backup-now')).not.toBeNull())
  return { backend, view: view! }
}

const section = () => view!.$('section[aria-labelledby="backups"]')
const sent = (backend: ReturnType<typeof createMockBackend>, command: string) => backend.calls.filter(([m]) => m === command).map(([, args]) => args)

describe('settings: backup passphrase', () => {
  it('asks for a passphrase twice and says why it matters', async () => {
    const { view } = await openBackups()
    expect(view.$('#backups')?.textContent).toBe('Backups')
    expect(view.$('label[for="backup-pass"]')).not.toBeNull()
    expect(view.$('label[for="backup-pass2"]')).not.toBeNull()
    expect(view.$<HTMLInputElement>('#backup-pass')?.type).toBe('password')
    expect(view.$<HTMLInputElement>('#backup-pass2')?.type).toBe('password')
    const hint = text(view.$('#backup-pass-hint'))
    expect(hint).toContain('keychain')
    expect(hint).toContain('Without it a backup cannot be opened')
    expect(hint).toContain('write it down')
  })

  it('says when the two passphrases differ or are too short, and sends nothing', async () => {
    const { backend, view } = await openBackups()
    type(view.$('#backup-pass'), PASS)
    type(view.$('#backup-pass2'), `${PASS}!`)
    click(view.$('#backup-pass-save'))
    expect(text(view.$('#backup-pass-error'))).toBe('The two passphrases do not match: type the same one in both fields.')
    expect(view.$('#backup-pass-error')?.getAttribute('role')).toBe('alert')
    expect(document.activeElement?.id).toBe('backup-pass2')
    expect(view.$('#backup-pass2')?.getAttribute('aria-invalid')).toBe('true')
    expect(view.$('#backup-pass')?.getAttribute('aria-invalid')).toBeNull()

    type(view.$('#backup-pass'), 'short one')
    type(view.$('#backup-pass2'), 'short one')
    click(view.$('#backup-pass-save'))
    expect(text(view.$('#backup-pass-error'))).toContain('at least 12 characters')
    expect(sent(backend, 'backupSetPassphrase')).toEqual([])
  })

  it('saves the passphrase, then says it is kept in the keychain and offers to change it', async () => {
    const { backend, view } = await openBackups()
    expect(view.$<HTMLButtonElement>('#backup-now')?.disabled).toBe(true)
    type(view.$('#backup-pass'), PASS)
    type(view.$('#backup-pass2'), PASS)
    click(view.$('#backup-pass-save'))
    await vi.waitFor(() => expect(text(view.$('#backup-pass-state'))).toBe('Passphrase kept in the keychain'))
    expect(sent(backend, 'backupSetPassphrase')).toEqual([[PASS]])
    expect(view.$('#backup-pass')).toBeNull()
    expect(view.$<HTMLButtonElement>('#backup-now')?.disabled).toBe(false)

    click(view.$('#backup-pass-change'))
    expect(view.$('#backup-pass')).not.toBeNull()
    expect(view.$('#backup-pass2')).not.toBeNull()
    expect(text(view.$('#backup-pass-hint'))).toContain('Backups already made still open with the passphrase they were made with')
  })

  it("shows the backend's refusal", async () => {
    const { backend, view } = await openBackups()
    backend.failNext('backupSetPassphrase', { code: 'invalid_input', message: 'the keychain is locked' })
    type(view.$('#backup-pass'), PASS)
    type(view.$('#backup-pass2'), PASS)
    click(view.$('#backup-pass-save'))
    await vi.waitFor(() => expect(text(view.$('#backup-pass-error'))).toBe('the keychain is locked'))
    expect(view.$('#backup-pass')).not.toBeNull()
  })
})

describe('settings: back up now', () => {
  it('cannot run before a passphrase is set, and says why', async () => {
    const { view } = await openBackups()
    const button = view.$<HTMLButtonElement>('#backup-now')
    expect(button?.disabled).toBe(true)
    const why = view.$(`#${button?.getAttribute('aria-describedby')}`)
    expect(text(why)).toContain('Set a passphrase')
  })

  it('shows progress, then the file, its size and when it was made', async () => {
    let finish: (r: BackupReport) => void = () => {}
    const fixtures = backupFixtures({ schedule: backupSchedule({ passphrase_set: true }) })
    fixtures.backupNow = () => new Promise<BackupReport>((resolve) => (finish = resolve))
    const { view } = await openBackups(fixtures)
    click(view.$('#backup-now'))
    await vi.waitFor(() => expect(text(view.$('#backup-now'))).toBe('Backing up…'))
    expect(view.$<HTMLButtonElement>('#backup-now')?.disabled).toBe(true)
    expect(text(view.$('#backup-progress'))).toContain('Copying and encrypting')

    const report = backupReport()
    finish(report)
    await vi.waitFor(() => expect(view.$('#backup-result')).not.toBeNull())
    const result = text(view.$('#backup-result'))
    expect(result).toContain(report.path)
    expect(result).toContain('12 MB')
    expect(result).toContain(formatDateTime(report.manifest.created_at))
    expect(result).not.toMatch(RFC3339)
    expect(text(view.$('#backup-now'))).toBe('Back up now')
  })

  it('shows why a backup failed', async () => {
    const { backend, view } = await openBackups(backupFixtures({ schedule: backupSchedule({ passphrase_set: true }) }))
    backend.failNext('backupNow', { code: 'io', message: `${DOWNLOADS} is full` })
    click(view.$('#backup-now'))
    await vi.waitFor(() => expect(view.$('#backup-error')).not.toBeNull())
    expect(view.$('#backup-error')?.getAttribute('role')).toBe('alert')
    expect(text(view.$('#backup-error'))).toBe(`The backup failed: ${DOWNLOADS} is full`)
    expect(view.$('#backup-result')).toBeNull()
  })

  it('lists the last good backup and a failed attempt after it, in the locale format', async () => {
    const good = attempt()
    const failed = attempt({ at: '2026-03-30T22:15:00Z', scheduled: true, ok: false, path: null, bytes: null, error: 'the folder is gone' })
    const { view } = await openBackups(
      backupFixtures({
        last_good: good,
        last_attempt: failed,
        schedule: backupSchedule({ passphrase_set: true, enabled: true, next_due_at: '2026-03-31T22:15:00Z' }),
      }),
    )
    const last = text(view.$('#backup-last-good'))
    expect(last).toContain(formatDateTime(good.at))
    expect(last).toContain('4.2 MB')
    expect(last).toContain(good.path!)
    expect(text(view.$('#backup-last-failed'))).toBe(`The daily backup of ${formatDateTime(failed.at)} failed: the folder is gone`)
    expect(text(view.$('#backup-next'))).toBe(formatDateTime('2026-03-31T22:15:00Z'))
    expect(text(section())).not.toMatch(RFC3339)
  })

  it('says when there is no backup yet', async () => {
    const { view } = await openBackups()
    expect(text(view.$('#backup-last-good'))).toBe('No backup yet')
    expect(view.$('#backup-last-failed')).toBeNull()
  })
})

describe('settings: backup schedule', () => {
  it('keeps backups in a folder chosen in the dialog, or in Downloads', async () => {
    const { backend, view } = await openBackups(backupFixtures({ schedule: backupSchedule({ passphrase_set: true }) }))
    expect(text(view.$('#backup-folder'))).toBe(DOWNLOADS)
    expect(view.$<HTMLButtonElement>('#backup-use-downloads')?.disabled).toBe(true)
    backend.fixtures.chooseFolder = '/home/officer/Backups'
    click(view.$('#backup-choose-folder'))
    await vi.waitFor(() => expect(text(view.$('#backup-folder'))).toBe('/home/officer/Backups'))
    expect(sent(backend, 'chooseFolder')).toEqual([['Where to keep backups']])
    expect(sent(backend, 'backupScheduleSave')).toEqual([[{ enabled: false, folder: '/home/officer/Backups', keep: 7, include_credentials: true }]])

    click(view.$('#backup-use-downloads'))
    await vi.waitFor(() => expect(text(view.$('#backup-folder'))).toBe(DOWNLOADS))
    expect(sent(backend, 'backupScheduleSave')[1]).toEqual([{ enabled: false, folder: null, keep: 7, include_credentials: true }])
  })

  it('saves nothing when the folder dialog is cancelled', async () => {
    const { backend, view } = await openBackups()
    backend.fixtures.chooseFolder = null
    click(view.$('#backup-choose-folder'))
    await vi.waitFor(() => expect(sent(backend, 'chooseFolder')).toHaveLength(1))
    expect(sent(backend, 'backupScheduleSave')).toEqual([])
  })

  it('turns daily backups on only once a passphrase is set', async () => {
    const { backend, view } = await openBackups()
    const daily = () => view.$<HTMLInputElement>('#backup-enabled')
    expect(daily()?.disabled).toBe(true)
    expect(text(view.$('#backup-enabled-hint'))).toContain('Set a passphrase first')

    type(view.$('#backup-pass'), PASS)
    type(view.$('#backup-pass2'), PASS)
    click(view.$('#backup-pass-save'))
    await vi.waitFor(() => expect(daily()?.disabled).toBe(false))
    click(daily())
    await vi.waitFor(() => expect(sent(backend, 'backupScheduleSave')).toHaveLength(1))
    expect(sent(backend, 'backupScheduleSave')[0]).toEqual([{ enabled: true, folder: null, keep: 7, include_credentials: true }])
    await vi.waitFor(() => expect(text(view.$('#backup-saved'))).toBe('Saved.'))
  })

  it("puts a checkbox back and shows the backend's refusal", async () => {
    const { backend, view } = await openBackups(backupFixtures({ schedule: backupSchedule({ passphrase_set: true }) }))
    backend.failNext('backupScheduleSave', { code: 'invalid_input', message: 'no backup passphrase is set: set one in Settings → Backups first' })
    click(view.$('#backup-credentials'))
    await vi.waitFor(() => expect(text(section()?.querySelector('.notice.bad') ?? null)).toContain('no backup passphrase is set'))
    expect(view.$<HTMLInputElement>('#backup-credentials')?.checked).toBe(true)
  })

  it('checks how many backups to keep before saving it', async () => {
    const { backend, view } = await openBackups()
    type(view.$('#backup-keep'), '0')
    expect(text(view.$('#backup-keep-error'))).toBe('Enter a whole number of backups from 1 to 365.')
    expect(sent(backend, 'backupScheduleSave')).toEqual([])
    type(view.$('#backup-keep'), '14')
    await vi.waitFor(() => expect(sent(backend, 'backupScheduleSave')).toEqual([[{ enabled: false, folder: null, keep: 14, include_credentials: true }]]))
    expect(view.$('#backup-keep-error')).toBeNull()
  })

  it('opens at the Backups section from a link', async () => {
    const backend = createMockBackend(backupFixtures())
    view = renderApp(backend, '#/settings/backups')
    await vi.waitFor(() => expect(document.activeElement?.id).toBe('backups'))
  })
})
