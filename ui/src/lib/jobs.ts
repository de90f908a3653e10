// The Dashboard's "Background work" card: how each job's state and the events that wait for a
// Stripe API key read. The jobs and their words (titles, summaries, fixes) come from Rust
// (core jobs/); this only puts them into sentences.

import { formatCount, plural } from './format'
import type { JobStatus, WaitingForKey } from './types'

/** The core counts up to this many of each (jobs/work.rs `COUNT_UP_TO`). */
export const COUNT_UP_TO = 1000

/** "5 events wait for a Stripe API key" (or "1,000 or more events …"). */
export function waitingHeadline(w: WaitingForKey): string {
  const n = w.thin_events + w.unknown_customers
  const capped = w.thin_events >= COUNT_UP_TO || w.unknown_customers >= COUNT_UP_TO
  const count = capped ? `${formatCount(n)} or more events` : plural(n, 'event')
  return `${count} ${n === 1 && !capped ? 'waits' : 'wait'} for a Stripe API key`
}

/** What waits, in detail: "3 thin events to fetch, 2 customers to look up". */
export function waitingDetail(w: WaitingForKey): string {
  const parts = []
  if (w.thin_events > 0) parts.push(`${plural(w.thin_events, 'thin event')} to fetch`)
  if (w.unknown_customers > 0) parts.push(`${plural(w.unknown_customers, 'customer')} to look up`)
  return parts.join(', ')
}

export type JobOutcome = { tone: 'bad' | 'muted'; text: string }

/** The last error (with how many runs in a row failed), else what the last run did. */
export function jobOutcome(j: JobStatus): JobOutcome {
  if (j.last_error) {
    const times = j.failures > 1 ? ` (failed ${j.failures} times in a row)` : ''
    return { tone: 'bad', text: `${j.last_error}${times}` }
  }
  if (!j.last_run_at) return { tone: 'muted', text: 'Not run yet' }
  return { tone: 'muted', text: j.summary || 'Done' }
}
