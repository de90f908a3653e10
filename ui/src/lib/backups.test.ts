import { describe, expect, it } from 'vitest'
import { fileName, healthHeadline, healthStatus, parseKeep, passphraseProblem, restoredCounts } from './backups'

describe('backups', () => {
  it('asks for 12 characters, counted as characters, and the same passphrase twice', () => {
    expect(passphraseProblem('', '')?.message).toBe('Enter a passphrase of at least 12 characters.')
    expect(passphraseProblem('eleven chrs', 'eleven chrs')?.field).toBe('backup-pass')
    // 12 characters, more than 12 UTF-16 units: accepted, as the backend counts them.
    expect(passphraseProblem('ñandú 🐢 mar!', 'ñandú 🐢 mar!')).toBeNull()
    expect(passphraseProblem('a long passphrase', 'a long passphrasE')).toEqual({
      field: 'backup-pass2',
      message: 'The two passphrases do not match: type the same one in both fields.',
    })
  })

  it('keeps 1 to 365 backups', () => {
    expect(parseKeep(7)).toEqual({ ok: true, keep: 7 })
    expect(parseKeep(' 365 ')).toEqual({ ok: true, keep: 365 })
    for (const bad of [0, 366, 2.5, null, '', 'seven']) expect(parseKeep(bad).ok).toBe(false)
  })

  it('words a health status and the card headline', () => {
    expect(healthStatus('ok')).toEqual({ label: 'OK', tone: 'good' })
    expect(healthStatus('warning')).toEqual({ label: 'Warning', tone: 'warn' })
    expect(healthStatus('problem')).toEqual({ label: 'Problem', tone: 'bad' })
    expect(healthHeadline([{ status: 'ok' }])).toEqual({ text: 'All good', tone: 'good' })
    expect(healthHeadline([{ status: 'warning' }, { status: 'warning' }])).toEqual({ text: '2 warnings', tone: 'warn' })
    expect(healthHeadline([{ status: 'problem' }, { status: 'warning' }, { status: 'ok' }])).toEqual({ text: '1 problem, 1 warning', tone: 'bad' })
  })

  it('tells what a restored backup holds, every count in words', () => {
    expect(restoredCounts({ processors: 1, events: 1200, subjects: 300, requests: 0, audit_entries: 1 }).map((c) => c.text)).toEqual([
      '1 processor',
      `${(1200).toLocaleString()} events`,
      '300 data subjects',
      '0 requests',
      '1 audit entry',
    ])
  })

  it('names the file the open dialog answered', () => {
    expect(fileName('/home/officer/Backups/privacy-desk-2026-03-30-0914.pdbackup')).toBe('privacy-desk-2026-03-30-0914.pdbackup')
    expect(fileName('C:\\Users\\officer\\Downloads\\old.pdbackup')).toBe('old.pdbackup')
    expect(fileName('old.pdbackup')).toBe('old.pdbackup')
  })
})
