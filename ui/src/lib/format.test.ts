import { describe, expect, it } from 'vitest'
import { PROCESSOR_STATUS, formatBytes, humanise, maskToken, splitEventType, statusInfo } from './format'

describe('format', () => {
  it('labels known and unknown statuses', () => {
    expect(statusInfo(PROCESSOR_STATUS, 'interconnected')).toEqual({ label: 'Interconnected', tone: 'good' })
    expect(statusInfo(PROCESSOR_STATUS, 'awaiting_first_event').label).toBe('Awaiting first event')
    expect(statusInfo(PROCESSOR_STATUS, 'paused_by_user')).toEqual({ label: 'Paused by user', tone: 'neutral' })
    expect(humanise('')).toBe('—')
  })

  it('splits namespaced event types', () => {
    expect(splitEventType('stripe:customer.created')).toEqual({ source: 'stripe', type: 'customer.created' })
    expect(splitEventType('customer.created')).toEqual({ source: null, type: 'customer.created' })
  })

  it('hides the token of a webhook URL', () => {
    expect(maskToken('http://127.0.0.1:8787/webhooks/stripe/ab12?token=s3cr3t')).toBe(
      'http://127.0.0.1:8787/webhooks/stripe/ab12?token=••••••',
    )
  })

  it('reads file sizes in KB and MB', () => {
    const n = (v: number, digits: number) => v.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits })
    expect(formatBytes(1)).toBe('1 byte')
    expect(formatBytes(512)).toBe('512 bytes')
    expect(formatBytes(1536)).toBe(`${n(1.5, 1)} KB`)
    expect(formatBytes(300 * 1024)).toBe('300 KB')
    expect(formatBytes(13_000_000)).toBe('12 MB')
    expect(formatBytes(5 * 1024 ** 3)).toBe(`${n(5, 1)} GB`)
    expect(formatBytes(null)).toBe('—')
  })
})
