// Display helpers: dates, labels for backend codes. (The event document: eventView.ts.)

/** `2026-03-05T13:04:05Z` → "5 Mar 2026, 14:04" in the user's locale and time zone. */
export function formatDateTime(rfc3339: string | null | undefined): string {
  if (!rfc3339) return '—'
  const d = new Date(rfc3339)
  if (Number.isNaN(d.getTime())) return rfc3339
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}

/** `2026-03-05` → "5 Mar" */
export function formatDay(day: string, withYear = false): string {
  const [y, m, d] = day.split('-').map(Number)
  if (!y || !m || !d) return day
  return new Date(y, m - 1, d).toLocaleDateString(undefined, {
    day: 'numeric',
    month: 'short',
    ...(withYear ? { year: 'numeric' } : {}),
  })
}

export function formatCount(n: number): string {
  return n.toLocaleString()
}

/**
 * A file size in the units a file manager shows: "512 bytes", "4.2 KB", "13 MB", "1.1 GB"
 * (1 KB = 1024 bytes; one decimal below 10, in the user's locale).
 */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes) || bytes < 0) return '—'
  if (bytes < 1024) return plural(bytes, 'byte')
  const units = ['KB', 'MB', 'GB', 'TB']
  let v = bytes / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  const digits = v < 10 ? 1 : 0
  return `${v.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${units[i]}`
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`
}

/** Today's date as YYYY-MM-DD in local time, for file names. */
export function localDate(now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`
}

export const PROCESSOR_STATUS: Record<string, { label: string; tone: Tone }> = {
  interconnected: { label: 'Interconnected', tone: 'good' },
  awaiting_first_event: { label: 'Awaiting first event', tone: 'warn' },
}

export const ACTIVITY_STATUS: Record<string, { label: string; tone: Tone }> = {
  linked: { label: 'Linked', tone: 'good' },
  unlinked: { label: 'Unlinked', tone: 'warn' },
  no_subject: { label: 'No subject', tone: 'neutral' },
  pending: { label: 'Pending', tone: 'neutral' },
  awaiting_fetch: { label: 'Awaiting fetch', tone: 'warn' },
}

export const SUBJECT_STATUS: Record<string, { label: string; tone: Tone }> = {
  active: { label: 'Active', tone: 'good' },
  deleted_at_processor: { label: 'Deleted at processor', tone: 'warn' },
}

export type Tone = 'good' | 'warn' | 'bad' | 'neutral'

/** A label for any backend status, known or not: `some_new_status` → "Some new status". */
export function statusInfo(
  table: Record<string, { label: string; tone: Tone }>,
  status: string,
): { label: string; tone: Tone } {
  return table[status] ?? { label: humanise(status), tone: 'neutral' }
}

export function humanise(code: string): string {
  const t = code.replace(/_/g, ' ').trim()
  return t ? t[0].toUpperCase() + t.slice(1) : '—'
}

export function processorKindLabel(kind: string): string {
  return kind === 'stripe' ? 'Stripe' : kind === 'webhook' ? 'Webhook' : kind === 'manual' ? 'Manual' : humanise(kind)
}

/** `stripe:customer.created` → { source: "stripe", type: "customer.created" } */
export function splitEventType(t: string): { source: string | null; type: string } {
  const i = t.indexOf(':')
  return i < 0 ? { source: null, type: t } : { source: t.slice(0, i), type: t.slice(i + 1) }
}

export function deliveryTone(statusCode: number): Tone {
  if (statusCode >= 200 && statusCode < 300) return 'good'
  if (statusCode === 503) return 'warn'
  return 'bad'
}

/** A webhook URL with its secret token hidden: `…?token=••••••`. */
export function maskToken(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/, '$1••••••')
}

/**
 * A time relative to `now`: "just now", "2 min ago", "3 hours ago", "in 14 min", "in 1 day".
 * `null` → "—"; an unreadable time is shown as sent.
 */
export function relativeTime(rfc3339: string | null | undefined, now: number = Date.now()): string {
  if (!rfc3339) return '—'
  const t = new Date(rfc3339).getTime()
  if (Number.isNaN(t)) return rfc3339
  const seconds = Math.round((t - now) / 1000)
  const future = seconds > 0
  const s = Math.abs(seconds)
  if (s < 45) return future ? 'in a few seconds' : 'just now'
  const minutes = Math.round(s / 60)
  const hours = Math.round(s / 3600)
  const days = Math.round(s / 86_400)
  const span = minutes < 60 ? `${minutes} min` : hours < 24 ? plural(hours, 'hour') : plural(days, 'day')
  return future ? `in ${span}` : `${span} ago`
}
