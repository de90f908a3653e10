// Settings → Backups and the Dashboard's health card: what the fields accept before they are
// sent (the backend checks again and has the last word), and the words for a health status.

import { plural, type Tone } from './format'

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
