// Settings → Backups, over the invoke-level mock: what a privacy officer sees and sends.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { formatDateTime } from '../lib/format'
import type { BackupReport, RestoreReport } from '../lib/types'
import { click, renderApp, text, type } from '../test/app'
import { CHOSEN_BACKUP, DOWNLOADS, attempt, backupFixtures, backupReport, backupSchedule, foundBackup, restoreReport } from '../test/fixtures'
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

describe('settings: restore a backup', () => {
  const newInstall = (over: Parameters<typeof backupFixtures>[0] = {}) => backupFixtures({ new_install: true, ...over })

  async function openRestore(fixtures: Parameters<typeof createMockBackend>[0]) {
    const opened = await openBackups(fixtures)
    await vi.waitFor(() => expect(view!.$('#restore-choose')).not.toBeNull())
    return opened
  }

  it('lists the backups found with their size and date in the locale format', async () => {
    const older = foundBackup({ name: 'privacy-desk-2026-03-28-2215.pdbackup', bytes: 900, modified_at: '2026-03-28T22:15:40Z' })
    const newer = foundBackup({ path: '/home/officer/Backups/privacy-desk-2026-03-30-0914.pdbackup', name: 'privacy-desk-2026-03-30-0914.pdbackup', bytes: 13_000_000 })
    const { backend, view } = await openRestore({ ...newInstall(), backupFound: [newer, older] })
    expect(text(view.$('#restore'))).toBe('Restore a backup')
    expect(text(view.$('#restore-intro'))).toContain('Moving from another computer? Restore its backup')
    expect(text(view.$('#restore-intro'))).toContain('the activity log, data subjects, requests and the audit trail')
    const items = view.$$('#restore-list li')
    expect(items.map((li) => li.getAttribute('data-backup-name'))).toEqual([newer.name, older.name])
    const first = text(view.$(`li[data-backup-name="${newer.name}"]`))
    expect(first).toContain(newer.name)
    expect(first).toContain('12 MB')
    expect(first).toContain(formatDateTime(newer.modified_at))
    expect(first).toContain(newer.path)
    expect(text(view.$(`li[data-backup-name="${older.name}"]`))).toContain('900 bytes')
    expect(text(view.$('#restore-list'))).not.toMatch(RFC3339)
    expect(view.$$('#restore-list button.restore-pick').map((b) => text(b))).toEqual(['Restore…', 'Restore…'])
    expect(sent(backend, 'backupFound')).toEqual([[]])
    // Nothing is read or restored until a file is picked.
    expect(view.$('#restore-pass')).toBeNull()
    expect(sent(backend, 'backupRestore')).toEqual([])
  })

  it('says when no backup was found, and still offers the open dialog', async () => {
    const { view } = await openRestore(newInstall())
    expect(view.$('#restore-list')).toBeNull()
    expect(text(view.$('#restore-none'))).toContain('No backup found')
    expect(text(view.$('#restore-choose'))).toBe('Choose a file…')
  })

  it('restores a backup found: progress, then what came back, and a restart', async () => {
    const b = foundBackup()
    let finish: (r: RestoreReport) => void = () => {}
    const fixtures = { ...newInstall(), backupFound: [b], backupRestore: () => new Promise<RestoreReport>((resolve) => (finish = resolve)) }
    const { backend, view } = await openRestore(fixtures)
    click(view.$(`li[data-backup-name="${b.name}"] button.restore-pick`))
    expect(view.$('#restore-list')).toBeNull()
    const file = text(view.$('#restore-file'))
    expect(file).toContain(b.name)
    expect(file).toContain(formatDateTime(b.modified_at))
    expect(file).not.toMatch(RFC3339)
    const pass = view.$<HTMLInputElement>('#restore-pass')
    expect(pass?.type).toBe('password')
    expect(text(view.$('label[for="restore-pass"]'))).toBe('Backup passphrase')
    await vi.waitFor(() => expect(document.activeElement?.id).toBe('restore-pass'))

    type(pass, PASS)
    click(view.$('#restore-go'))
    await vi.waitFor(() => expect(text(view.$('#restore-go'))).toBe('Restoring…'))
    expect(view.$<HTMLButtonElement>('#restore-go')?.disabled).toBe(true)
    expect(text(view.$('#restore-progress'))).toContain('takes a few seconds')
    expect(sent(backend, 'backupRestore')).toEqual([[b.path, PASS]])

    const report = restoreReport()
    finish(report)
    await vi.waitFor(() => expect(view.$('#restore-result')).not.toBeNull())
    const result = text(view.$('#restore-result'))
    expect(result).toContain(`Restored the backup of ${formatDateTime(report.manifest.created_at)}`)
    expect(result).not.toMatch(RFC3339)
    for (const count of [`${(1200).toLocaleString()} events`, '300 data subjects', '4 requests', '57 audit entries']) expect(result).toContain(count)
    expect(text(view.$('#restore-audit'))).toContain('Audit trail intact')
    expect(result).toContain('The restored records appear when Privacy Desk restarts')
    expect(view.$('#restore-reenter')).toBeNull()
    expect(view.$('#restore-pass')).toBeNull()
    expect(view.$('#restore-progress')).toBeNull()

    const restartButton = view.$<HTMLButtonElement>('#restore-restart')
    expect(text(restartButton)).toBe('Restart Privacy Desk now')
    expect(restartButton?.classList.contains('primary')).toBe(true)
    expect(sent(backend, 'appRestart')).toEqual([])
    click(restartButton)
    await vi.waitFor(() => expect(sent(backend, 'appRestart')).toEqual([[]]))
  })

  it('restores a file chosen in the open dialog', async () => {
    const { backend, view } = await openRestore(newInstall())
    click(view.$('#restore-choose'))
    await vi.waitFor(() => expect(view.$('#restore-pass')).not.toBeNull())
    expect(sent(backend, 'chooseOpenPath')).toEqual([['Privacy Desk backup', 'pdbackup']])
    const file = text(view.$('#restore-file'))
    expect(file).toContain('privacy-desk-2026-03-27-1810.pdbackup')
    expect(file).toContain(CHOSEN_BACKUP)
    type(view.$('#restore-pass'), PASS)
    click(view.$('#restore-go'))
    await vi.waitFor(() => expect(view.$('#restore-restart')).not.toBeNull())
    expect(sent(backend, 'backupRestore')).toEqual([[CHOSEN_BACKUP, PASS]])
  })

  it('does nothing when the open dialog is cancelled', async () => {
    const { backend, view } = await openRestore({ ...newInstall(), backupFound: [foundBackup()], chooseOpenPath: null })
    click(view.$('#restore-choose'))
    await vi.waitFor(() => expect(sent(backend, 'chooseOpenPath')).toHaveLength(1))
    expect(view.$('#restore-pass')).toBeNull()
    expect(view.$('#restore-list')).not.toBeNull()
  })

  it("shows why a restore failed and keeps the passphrase to fix it", async () => {
    const b = foundBackup()
    const { backend, view } = await openRestore({ ...newInstall(), backupFound: [b] })
    click(view.$('button.restore-pick'))
    const message = 'the passphrase does not open this backup; nothing was restored'
    backend.failNext('backupRestore', { code: 'invalid_input', message })
    type(view.$('#restore-pass'), `${PASS}?`)
    click(view.$('#restore-go'))
    await vi.waitFor(() => expect(view.$('#restore-error')).not.toBeNull())
    expect(text(view.$('#restore-error'))).toBe(message)
    expect(view.$('#restore-error')?.getAttribute('role')).toBe('alert')
    expect(view.$<HTMLInputElement>('#restore-pass')?.value).toBe(`${PASS}?`)
    expect(view.$('#restore-pass')?.getAttribute('aria-describedby')).toContain('restore-error')
    expect(document.activeElement?.id).toBe('restore-pass')
    expect(view.$('#restore-result')).toBeNull()
    expect(text(view.$('#restore-go'))).toBe('Restore')

    // Fixed: the second try restores.
    type(view.$('#restore-pass'), PASS)
    expect(view.$('#restore-error')).toBeNull()
    click(view.$('#restore-go'))
    await vi.waitFor(() => expect(view.$('#restore-result')).not.toBeNull())
    expect(sent(backend, 'backupRestore')).toEqual([
      [b.path, `${PASS}?`],
      [b.path, PASS],
    ])
  })

  it('asks for the passphrase before sending anything, and goes back to the list on cancel', async () => {
    const { backend, view } = await openRestore({ ...newInstall(), backupFound: [foundBackup()] })
    click(view.$('button.restore-pick'))
    click(view.$('#restore-go'))
    expect(text(view.$('#restore-error'))).toBe('Enter the passphrase this backup was made with.')
    expect(sent(backend, 'backupRestore')).toEqual([])
    type(view.$('#restore-pass'), PASS)
    click(view.$('#restore-cancel'))
    expect(view.$('#restore-pass')).toBeNull()
    expect(view.$('#restore-list')).not.toBeNull()
    // Picked again: the passphrase typed before is gone.
    click(view.$('button.restore-pick'))
    expect(view.$<HTMLInputElement>('#restore-pass')?.value).toBe('')
  })

  it('warns when the restored audit trail does not check out, and lists the secrets to enter again', async () => {
    const report = restoreReport({
      audit_intact: false,
      secrets_restored: ['app/audit-key', 'app/hash-key'],
      secrets_to_reenter: [
        { processor_id: 3, processor_name: 'Stripe EU', secret: 'webhook signing secret', stops_working: true, fix: "enter it on the processor's page (Processors → Stripe EU)" },
        { processor_id: 4, processor_name: 'QuickBooks', secret: 'URL token', stops_working: false, fix: 'nothing to do: it cannot be shown again' },
      ],
    })
    report.manifest.credentials_included = false
    const { view } = await openRestore({ ...newInstall(), backupFound: [foundBackup()], backupRestore: report })
    click(view.$('button.restore-pick'))
    type(view.$('#restore-pass'), PASS)
    click(view.$('#restore-go'))
    await vi.waitFor(() => expect(view.$('#restore-result')).not.toBeNull())
    const audit = view.$('#restore-audit')
    expect(audit?.classList.contains('warn')).toBe(true)
    expect(text(audit)).toContain('does not check out')
    expect(text(audit)).not.toContain('intact')
    const items = view.$$('#restore-reenter li')
    expect(items.map((li) => li.getAttribute('data-processor-id'))).toEqual(['3', '4'])
    expect(text(items[0])).toContain('Stripe EU')
    expect(text(items[0])).toContain('webhook signing secret')
    expect(text(items[0])).toContain("What to do: enter it on the processor's page")
    expect(text(items[0])).toContain('Stops until entered')
    expect(text(items[1])).not.toContain('Stops until entered')
    expect(text(view.$('#restore-result'))).toContain('made without the processors’ secrets')
    expect(view.$('#restore-restart')).not.toBeNull()
  })

  it('says why there is nothing to restore into an install that holds records', async () => {
    const { backend, view } = await openBackups(backupFixtures({ new_install: false }))
    expect(text(view.$('#restore'))).toBe('Restore a backup')
    expect(text(view.$('#restore-not-new'))).toContain('this install already holds records')
    expect(text(view.$('#restore-not-new'))).toContain('new computer')
    const part = view.$('#restore-part')
    expect(part?.querySelectorAll('button')).toHaveLength(0)
    for (const sel of ['#restore-list', '#restore-choose', 'button.restore-pick', '#restore-pass', '#restore-go']) expect(view.$(sel)).toBeNull()
    expect(sent(backend, 'backupFound')).toEqual([])
  })

  it('opens at "Restore a backup" from a link', async () => {
    const backend = createMockBackend(newInstall())
    view = renderApp(backend, '#/settings/restore')
    await vi.waitFor(() => expect(document.activeElement?.id).toBe('restore'))
  })
})
