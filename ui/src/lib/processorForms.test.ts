import { describe, expect, it } from 'vitest'
import { emptyWebhookForm, toWebhookRequest, validateName, validateWebhook, type WebhookForm } from './processorForms'

const filled = (over: Partial<WebhookForm> = {}): WebhookForm => ({
  ...emptyWebhookForm(),
  name: ' QuickBooks ',
  id_pointer: '/eventNotifications/0/id',
  type_pointer: '/eventNotifications/0/type',
  email_pointer: '/customer/email',
  ...over,
})

describe('processor forms', () => {
  it('needs a name', () => {
    expect(validateName('  ')).toMatch(/name/)
    expect(validateName('x'.repeat(101))).toMatch(/100/)
    expect(validateName('Xero')).toBeNull()
  })

  it('accepts a complete webhook form and builds the request', () => {
    const f = filled({ signature_encoding: 'base64', signature_prefix: 'sha256=', time_pointer: ' /time ', signing_secret: ' s3cret-value ' })
    expect(validateWebhook(f)).toEqual({})
    expect(toWebhookRequest(f)).toEqual({
      name: 'QuickBooks',
      config: {
        signature_header: 'X-Signature',
        signature_encoding: 'base64',
        signature_prefix: 'sha256=',
        id_pointer: '/eventNotifications/0/id',
        type_pointer: '/eventNotifications/0/type',
        time_pointer: '/time',
        email_pointer: '/customer/email',
        name_pointer: null,
        timestamp: { id_header: 'webhook-id', timestamp_header: 'webhook-timestamp', tolerance_secs: 300 },
      },
      signingSecret: 's3cret-value',
    })
  })

  it('signs a timestamp by default, and not when turned off', () => {
    expect(emptyWebhookForm().timestamp).toBe(true)
    expect(toWebhookRequest(filled({ timestamp: false })).config.timestamp).toBeNull()
    const e = validateWebhook(filled({ id_header: 'x id', tolerance_secs: '0', signature_prefix: 'v 1,' }))
    expect(Object.keys(e).sort()).toEqual(['id_header', 'signature_prefix', 'tolerance_secs'])
    expect(validateWebhook(filled({ timestamp_header: 'X-SIGNATURE' })).timestamp_header).toMatch(/different/)
    // Turned off, its fields are not checked.
    expect(validateWebhook(filled({ timestamp: false, id_header: '', tolerance_secs: 'x' }))).toEqual({})
  })

  it('names each bad field', () => {
    const e = validateWebhook({
      ...emptyWebhookForm(),
      signature_header: 'X Sig',
      id_pointer: 'id',
      time_pointer: 'time',
      signing_secret: 'short',
    })
    expect(Object.keys(e).sort()).toEqual(['email_pointer', 'id_pointer', 'name', 'signature_header', 'signing_secret', 'time_pointer', 'type_pointer'])
    expect(e.id_pointer).toMatch(/starts with/)
    expect(e.type_pointer).toMatch(/Required/)
  })

  it('leaves the secret optional', () => {
    expect(validateWebhook(filled())).toEqual({})
    expect(toWebhookRequest(filled()).signingSecret).toBeNull()
  })
})
