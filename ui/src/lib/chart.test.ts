import { describe, expect, it } from 'vitest'
import { chartModel, niceCeil } from './chart'
import { days30 } from '../test/fixtures'

describe('chart', () => {
  it('rounds the axis up to 1, 2 or 5 × 10^n', () => {
    expect([0, 1, 2, 3, 7, 10, 11, 42, 180, 999].map(niceCeil)).toEqual([1, 1, 2, 5, 10, 10, 20, 50, 200, 1000])
  })

  it('draws 30 bars oldest first, scaled to the axis', () => {
    const days = days30('2026-03-30', (i) => (i === 29 ? 40 : i === 0 ? 1 : 0))
    const m = chartModel(days, 300, 100, 0)
    expect(m.bars).toHaveLength(30)
    expect(m.bars[0].day).toBe('2026-03-01')
    expect(m.bars[29]).toMatchObject({ day: '2026-03-30', x: 290, width: 10, height: 80, y: 20 })
    expect(m.max).toBe(50)
    expect(m.total).toBe(41)
    expect(m.peak).toEqual({ day: '2026-03-30', count: 40 })
    // A small but non-zero day stays visible; an empty day has no bar.
    expect(m.bars[0].height).toBe(2)
    expect(m.bars[1].height).toBe(0)
  })

  it('handles no events and no days', () => {
    expect(chartModel(days30(), 300, 100)).toMatchObject({ max: 1, total: 0, peak: null })
    expect(chartModel([], 300, 100).bars).toEqual([])
  })
})
