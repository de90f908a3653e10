import { describe, expect, it, vi } from 'vitest'
import { refreshOnActivity } from './util'

describe('refreshOnActivity', () => {
  it('reloads on events, throttled, and unsubscribes on cleanup', async () => {
    vi.useFakeTimers()
    let handler: () => void = () => {}
    const unlisten = vi.fn()
    const load = vi.fn()
    const cleanup = refreshOnActivity(
      async (h) => {
        handler = h
        return unlisten
      },
      load,
      1000,
    )
    await Promise.resolve()
    handler()
    handler()
    handler()
    vi.advanceTimersByTime(1500)
    expect(load.mock.calls.length).toBeLessThanOrEqual(2)
    expect(load).toHaveBeenCalled()
    cleanup()
    expect(unlisten).toHaveBeenCalledOnce()
    vi.useRealTimers()
  })

  it('unsubscribes even when cleanup runs before the subscription resolves', async () => {
    const unlisten = vi.fn()
    let resolve: (un: () => void) => void = () => {}
    const cleanup = refreshOnActivity(
      () => new Promise((r) => (resolve = r)),
      () => {},
      1000,
    )
    cleanup()
    resolve(unlisten)
    await Promise.resolve()
    await Promise.resolve()
    expect(unlisten).toHaveBeenCalledOnce()
  })

  it('polls when asked to', () => {
    vi.useFakeTimers()
    const load = vi.fn()
    const cleanup = refreshOnActivity(async () => () => {}, load, 100, 5000)
    vi.advanceTimersByTime(15_100)
    expect(load).toHaveBeenCalledTimes(3)
    cleanup()
    vi.advanceTimersByTime(10_000)
    expect(load).toHaveBeenCalledTimes(3)
    vi.useRealTimers()
  })
})
