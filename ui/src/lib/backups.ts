// Settings → Backups and the Dashboard's health card: what the fields accept before they are
// sent (the backend checks again and has the last word), the words for a health status, and
// how a restored backup's contents are told.

import { plural, type Tone } from './format'
import type { BackupCounts } from './types'

/** The shortest passphrase the backend accepts (`backup::MIN_PASSPHRASE`), counted in characters. */
export const MIN_PASSPHRASE = 12

/** Why the two passphrase fields cannot be saved, and which field to fix; `null` when they can. */
export function passphraseProblem(pass: string, again: string): { field: 'backup-pass' | 'backup-pass2'; message: string } | null {
  if ([...pass].length < MIN_PASSPHRASE) {
    return {
      field: 'backup-pass',
      message: pass
        ? `The passphrase is too short: use at least ${MIN_PASSPHRASE} characters.`
        : `Enter a passphrase of at least ${MIN_PASSPHRASE} characters.`,
    }
  }
  if (pass !== again) return { field: 'backup-pass2', message: 'The two passphrases do not match: type the same one in both fields.' }
  return null
}

/** "Keep the last N backups" (a number input's value): a whole number from 1 to 365. */
export function parseKeep(value: number | string | null | undefined): { ok: true; keep: number } | { ok: false; error: string } {
  const t = String(value ?? '').trim()
  const n = /^\d+$/.test(t) ? Number(t) : NaN
  if (!(n >= 1 && n <= 365)) return { ok: false, error: 'Enter a whole number of backups from 1 to 365.' }
  return { ok: true, keep: n }
}

/** A check's status (`ok`, `warning`, `problem`) in words and a tone; anything else as sent. */
export function healthStatus(status: string): { label: string; tone: Tone } {
  switch (status) {
    case 'ok':
      return { label: 'OK', tone: 'good' }
    case 'warning':
      return { label: 'Warning', tone: 'warn' }
    case 'problem':
      return { label: 'Problem', tone: 'bad' }
    default:
      return { label: status, tone: 'neutral' }
  }
}

/** The card's headline: "All good", "2 warnings", "1 problem", "1 problem, 2 warnings". */
export function healthHeadline(checks: readonly { status: string }[]): { text: string; tone: Tone } {
  const problems = checks.filter((c) => c.status === 'problem').length
  const warnings = checks.filter((c) => c.status === 'warning').length
  if (problems === 0 && warnings === 0) return { text: 'All good', tone: 'good' }
  const parts = [problems ? plural(problems, 'problem') : '', warnings ? plural(warnings, 'warning') : ''].filter(Boolean)
  return { text: parts.join(', '), tone: problems ? 'bad' : 'warn' }
}

/** What a restored backup holds, in words: "1,200 events", "300 data subjects", … (every count, 0 too). */
export function restoredCounts(c: BackupCounts): { key: keyof BackupCounts; text: string }[] {
  return [
    { key: 'processors', text: plural(c.processors, 'processor') },
    { key: 'events', text: plural(c.events, 'event') },
    { key: 'subjects', text: plural(c.subjects, 'data subject') },
    { key: 'requests', text: plural(c.requests, 'request') },
    { key: 'audit_entries', text: plural(c.audit_entries, 'audit entry', 'audit entries') },
  ]
}

/** The file name of a path the open dialog answered, on any system (`C:\x\a.pdbackup`, `/x/a.pdbackup`). */
export function fileName(path: string): string {
  const name = path.split(/[\\/]/).filter(Boolean).pop()
  return name ?? path
}
