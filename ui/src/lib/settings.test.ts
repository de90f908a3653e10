import { describe, expect, it } from 'vitest'
import { defaultSettings } from '../test/fixtures'
import { fromForm, sameForm, toForm, validate } from './settings'

describe('settings form', () => {
  it('round-trips settings, with empty retention meaning "keep"', () => {
    const s = { ...defaultSettings(), retention_days: null }
    expect(toForm(s).retentionDays).toBe('')
    expect(fromForm(toForm(s), s)).toEqual(s)
    const kept = { ...s, retention_days: 365, background_receiving: true }
    expect(fromForm(toForm(kept), kept)).toEqual(kept)
  })

  it('trims text and never changes the data directory', () => {
    const base = defaultSettings()
    const form = { ...toForm(base), orgName: '  Acme GmbH ', receiverPort: ' 9000 ', retentionDays: ' 30 ' }
    const out = fromForm(form, base)
    expect(out.org.name).toBe('Acme GmbH')
    expect(out.receiver_port).toBe(9000)
    expect(out.retention_days).toBe(30)
    expect(out.data_dir).toBe(base.data_dir)
  })

  it('validates port, retention and emails', () => {
    const ok = toForm(defaultSettings())
    expect(validate(ok)).toEqual({})
    expect(validate({ ...ok, receiverPort: '0' }).receiverPort).toMatch(/1 to 65535/)
    expect(validate({ ...ok, receiverPort: '70000' }).receiverPort).toBeDefined()
    expect(validate({ ...ok, receiverPort: '80.5' }).receiverPort).toBeDefined()
    expect(validate({ ...ok, retentionDays: '0' }).retentionDays).toMatch(/whole number/)
    expect(validate({ ...ok, retentionDays: '-3' }).retentionDays).toBeDefined()
    expect(validate({ ...ok, retentionDays: '90' })).toEqual({})
    expect(validate({ ...ok, orgEmail: 'privacy' }).orgEmail).toBeDefined()
    expect(validate({ ...ok, dpoEmail: 'dpo@example.com' })).toEqual({})
  })

  it('compares forms field by field', () => {
    const a = toForm(defaultSettings())
    expect(sameForm(a, { ...a })).toBe(true)
    expect(sameForm(a, { ...a, backgroundReceiving: !a.backgroundReceiving })).toBe(false)
  })
})
