import { describe, expect, it } from 'vitest'
import {
  SECRET_KEY_WARNING,
  applyProgress,
  applyReport,
  catchUpText,
  keyDescription,
  orderedResources,
  overallProgress,
  permissionLabel,
  startBackfill,
  summariseCheck,
  tunnelAdvice,
  tunnelProblem,
  tunnelUrl,
  validateApiKey,
  validateBaseUrl,
  validateTunnelToken,
  workflowLabel,
} from './stripeApi'

/** Joined at run time: no string in the source looks like a real Stripe key or secret. */
const fake = (...parts: string[]) => parts.join('_')

describe('validateApiKey', () => {
  it('accepts a restricted key, trimmed, with its mode and no warning', () => {
    expect(validateApiKey(`  ${fake('rk', 'live', '0123456789abcdef')}\n`)).toEqual({
      ok: true,
      value: fake('rk', 'live', '0123456789abcdef'),
      kind: 'restricted',
      livemode: true,
      warning: null,
    })
    const t = validateApiKey('rk_test_0123456789abcdef')
    expect(t.ok && t.livemode).toBe(false)
  })

  it('accepts a full secret key with the over-privileged warning', () => {
    const r = validateApiKey('sk_test_0123456789abcdef')
    expect(r).toMatchObject({ ok: true, kind: 'secret', livemode: false, warning: SECRET_KEY_WARNING })
    expect(SECRET_KEY_WARNING).toMatch(/full secret key/)
    expect(SECRET_KEY_WARNING).toMatch(/restricted key \(rk_…\)/)
  })

  it.each([
    ['', /Paste the restricted key/],
    ['   ', /Paste the restricted key/],
    [fake('whsec', '0123456789abcdef'), /signing secret, not an API key/],
    ['pk_live_0123456789abcdef', /publishable key/],
    ['sk-live-0123456789abcdef', /not a Stripe API key/],
    ['hello', /not a Stripe API key/],
    ['rk_prod_0123456789abcdef', /neither a live .* nor a test/],
    [fake('rk', 'live', '0123') + ' 456789abcdef', /no spaces/],
    [`"${fake('rk', 'live', '0123456789abcdef')}"`, /not a Stripe API key/],
    [fake('rk', 'live', '0123456789-bcdef'), /malformed/],
    [fake('rk', 'live', '012'), /too short/],
  ])('rejects %j', (raw, message) => {
    const r = validateApiKey(raw)
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.error).toMatch(message)
      // Never echo what was pasted.
      if (raw.trim().length > 6) expect(r.error).not.toContain(raw.trim())
    }
  })

  it('describes a stored key', () => {
    expect(keyDescription('restricted', false)).toBe('Restricted key · test mode')
    expect(keyDescription('secret', true)).toBe('Full secret key · live mode')
  })
})

describe('permission check', () => {
  const check = {
    key_kind: 'restricted',
    livemode: false,
    redaction_jobs_available: false,
    permissions: [
      { name: 'customers_read', granted: true },
      { name: 'events_read', granted: true },
      { name: 'webhook_endpoints_write', granted: false },
    ],
    workflows: [
      { name: 'catch_up', enabled: true },
      { name: 'webhook_registration', enabled: false },
    ],
  }

  it('splits granted from missing and enabled from disabled', () => {
    const s = summariseCheck(check)
    expect(s.granted).toEqual(['customers_read', 'events_read'])
    expect(s.missing).toEqual(['webhook_endpoints_write'])
    expect(s.enabled).toEqual(['catch_up'])
    expect(s.disabled).toEqual(['webhook_registration'])
    expect(s.text).toBe('The key lacks 1 of 3 permissions: 1 of 2 workflows are enabled.')
  })

  it('says when everything is granted', () => {
    const all = { ...check, permissions: check.permissions.map((p) => ({ ...p, granted: true })) }
    expect(summariseCheck(all).text).toMatch(/every permission/)
  })

  it('labels known names and humanises new ones', () => {
    expect(permissionLabel('webhook_endpoints_write')).toBe('Webhook endpoints — write')
    expect(workflowLabel('catch_up')).toMatch(/Catch up/)
    expect(permissionLabel('radar_read')).toBe('Radar read')
  })
})

describe('validateBaseUrl', () => {
  it('empty means "use the tunnel"', () => {
    expect(validateBaseUrl('  ')).toEqual({ ok: true, value: null })
  })
  it('accepts an https URL and drops trailing slashes', () => {
    expect(validateBaseUrl(' https://desk.example.com/ ')).toEqual({ ok: true, value: 'https://desk.example.com' })
    expect(validateBaseUrl('https://example.com/pd//')).toEqual({ ok: true, value: 'https://example.com/pd' })
  })
  it.each([
    ['desk.example.com', /absolute URL/],
    ['ftp://desk.example.com', /https:\/\//],
    ['https://desk.example.com/?a=1', /no query/],
    ['http://localhost:8787', /local address/],
    ['http://127.0.0.1:8787', /local address/],
  ])('rejects %j', (raw, message) => {
    const r = validateBaseUrl(raw)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error).toMatch(message)
  })
})

describe('tunnel', () => {
  it.each([
    ['ngrok rejected the authtoken (ERR_NGROK_105): set the right one with `privacy-desk tunnel set-token`', 'wrong_token'],
    ['no ngrok authtoken: set one with `privacy-desk tunnel set-token` (on stdin)', 'no_token'],
    ['cannot reach ngrok: ConnectionRefused (offline?); check the network connection', 'offline'],
    ['ngrok did not open the tunnel in time: try again', 'offline'],
    ['the receiver is not running', 'other'],
  ] as const)('classifies %j', (message, problem) => {
    expect(tunnelProblem(message)).toBe(problem)
  })

  it('advises in GUI terms, not CLI commands', () => {
    for (const p of ['wrong_token', 'no_token', 'offline', 'other'] as const) expect(tunnelAdvice(p)).not.toMatch(/privacy-desk /)
    expect(tunnelAdvice('offline')).toMatch(/offline/)
    expect(tunnelAdvice('wrong_token')).toMatch(/rejected the authtoken/)
  })

  it('checks the token shape without quoting it', () => {
    expect(validateTunnelToken(' 2abcDEFghiJKLmnoPQRstu_vwx-yz ')).toEqual({ ok: true, value: '2abcDEFghiJKLmnoPQRstu_vwx-yz' })
    expect(validateTunnelToken('')).toMatchObject({ ok: false })
    const r = validateTunnelToken('short token')
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error).not.toContain('short token')
  })

  it('has a URL only when on', () => {
    expect(tunnelUrl({ state: 'on', public_url: 'https://x.ngrok.app', error: null })).toBe('https://x.ngrok.app')
    expect(tunnelUrl({ state: 'error', public_url: null, error: 'x' })).toBeNull()
    expect(tunnelUrl(null)).toBeNull()
  })
})

describe('catch-up', () => {
  it('says when it never ran', () => {
    expect(catchUpText({ last_run_at: null, fetched: 0, new: 0, duplicates: 0 })).toBe('No catch-up yet.')
    expect(catchUpText(null)).toBe('No catch-up yet.')
  })
  it('shows the counts of the last run', () => {
    const t = catchUpText({ last_run_at: '2026-03-30T10:00:00Z', fetched: 1200, new: 3, duplicates: 1 })
    expect(t).toMatch(/^Last catch-up /)
    expect(t).toContain(`${(1200).toLocaleString()} fetched · 3 new · 1 duplicate`)
  })
})

describe('backfill progress', () => {
  it('keeps the selection in Stripe order, once, known names only', () => {
    expect(orderedResources(['invoices', 'customers', 'nonsense', 'customers'])).toEqual(['customers', 'invoices'])
  })

  it('aggregates progress events across resources', () => {
    let s = startBackfill(['customers', 'charges'])
    expect(overallProgress(s)).toMatchObject({ total: 2, done: 0, imported: 0, current: null, fraction: 0 })

    s = applyProgress(s, { resource: 'customers', imported: 100, pages: 1, done: false })
    s = applyProgress(s, { resource: 'customers', imported: 200, pages: 2, done: false })
    let o = overallProgress(s)
    expect(o).toMatchObject({ done: 0, imported: 200, current: 'customers', fraction: 0.25 })
    expect(o.text).toBe('0 of 2 resources done, 200 objects imported — importing customers…')

    s = applyProgress(s, { resource: 'customers', imported: 250, pages: 3, done: true })
    o = overallProgress(s)
    expect(o).toMatchObject({ done: 1, imported: 250, current: null, fraction: 0.5 })

    s = applyProgress(s, { resource: 'charges', imported: 30, pages: 1, done: true })
    o = overallProgress(s)
    expect(o).toMatchObject({ done: 2, imported: 280, fraction: 1 })
    expect(o.text).toBe('Done: 280 objects imported from 2 resources.')
  })

  it('ignores unknown resources and never goes backwards', () => {
    let s = startBackfill(['customers'])
    s = applyProgress(s, { resource: 'customers', imported: 200, pages: 2, done: false })
    s = applyProgress(s, { resource: 'customers', imported: 100, pages: 1, done: false })
    expect(applyProgress(s, { resource: 'invoices', imported: 9, pages: 1, done: true })).toBe(s)
    expect(s.resources[0]).toMatchObject({ imported: 200, pages: 2, done: false, started: true })
  })

  it('ends where the final report ends (a resumed run counts earlier imports)', () => {
    let s = startBackfill(['customers', 'charges'])
    s = applyProgress(s, { resource: 'customers', imported: 50, pages: 1, done: false })
    s = applyReport(s, {
      cancelled: false,
      resources: [
        { resource: 'customers', fetched: 50, new: 50, duplicates: 0, imported_total: 250, done: true },
        { resource: 'charges', fetched: 0, new: 0, duplicates: 0, imported_total: 0, done: true },
      ],
    })
    expect(overallProgress(s)).toMatchObject({ done: 2, imported: 250, fraction: 1 })
  })

  it('handles an empty selection', () => {
    expect(overallProgress(startBackfill([]))).toMatchObject({ total: 0, fraction: 0, text: 'Nothing selected.' })
  })
})
