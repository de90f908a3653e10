// Geometry for the "events per day" bar chart (drawn as SVG by EventsChart.svelte).

import type { DayCount } from './types'

export interface Bar {
  day: string
  count: number
  x: number
  y: number
  width: number
  height: number
}

export interface ChartModel {
  bars: Bar[]
  /** The top of the y axis: a "nice" number ≥ the largest count (at least 1). */
  max: number
  total: number
  peak: DayCount | null
}

/** Rounds up to 1, 2 or 5 × 10^n. */
export function niceCeil(n: number): number {
  if (n <= 1) return 1
  const pow = 10 ** Math.floor(Math.log10(n))
  for (const step of [1, 2, 5, 10]) if (step * pow >= n) return step * pow
  return 10 * pow
}

export function chartModel(days: DayCount[], width: number, height: number, gap = 2): ChartModel {
  const counts = days.map((d) => Math.max(0, d.count))
  const max = niceCeil(Math.max(0, ...counts))
  const slot = days.length ? width / days.length : 0
  const barWidth = Math.max(1, slot - gap)
  let peak: DayCount | null = null
  for (const d of days) if (d.count > 0 && (!peak || d.count > peak.count)) peak = d
  const bars = days.map((d, i) => {
    const h = (Math.max(0, d.count) / max) * height
    // A day with events is at least 2px tall, so it never looks empty.
    const shown = d.count > 0 ? Math.max(2, h) : 0
    return { day: d.day, count: d.count, x: i * slot + gap / 2, y: height - shown, width: barWidth, height: shown }
  })
  return { bars, max, total: counts.reduce((a, b) => a + b, 0), peak }
}
