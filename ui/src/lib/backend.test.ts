// The Tauri implementation: command names, argument keys and error shapes the Rust side must match.
import { afterEach, describe, expect, it } from 'vitest'
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { emit } from '@tauri-apps/api/event'
import { errorMessage, isBackendError, tauriBackend, toBackendError } from './backend'
import { EMPTY_FILTERS, buildQuery } from './filters'
import { defaultSettings } from './mockBackend'

afterEach(() => clearMocks())

function record(reply: (cmd: string) => unknown = () => null) {
  const seen: [string, unknown][] = []
  mockIPC((cmd, args) => {
    seen.push([cmd, args])
    return reply(cmd)
  })
  return seen
}

describe('tauriBackend', () => {
  it('calls each command by its snake_case name with camelCase argument keys', async () => {
    const seen = record()
    const query = buildQuery({ ...EMPTY_FILTERS, eventType: 'customer.*' })
    const settings = defaultSettings()

    await tauriBackend.appInfo()
    await tauriBackend.dashboard()
    await tauriBackend.processorsList()
    await tauriBackend.processorAddStripe(null)
    await tauriBackend.processorSetSecret(3, 'whsec_abcdefgh')
    await tauriBackend.processorShow(3)
    await tauriBackend.stripeEventTypes()
    await tauriBackend.activityQuery(query)
    await tauriBackend.activityDetail(9)
    await tauriBackend.activityExportCsv(query, '/tmp/a.csv')
    await tauriBackend.subjectsSearch('ada')
    await tauriBackend.subjectDetail(4)
    await tauriBackend.deliveriesList(200)
    await tauriBackend.settingsGet()
    await tauriBackend.settingsSave(settings)

    expect(seen).toEqual([
      ['app_info', {}],
      ['dashboard', {}],
      ['processors_list', {}],
      ['processor_add_stripe', { name: null }],
      ['processor_set_secret', { id: 3, secret: 'whsec_abcdefgh' }],
      ['processor_show', { id: 3 }],
      ['stripe_event_types', {}],
      ['activity_query', { query }],
      ['activity_detail', { id: 9 }],
      ['activity_export_csv', { query, path: '/tmp/a.csv' }],
      ['subjects_search', { text: 'ada' }],
      ['subject_detail', { id: 4 }],
      ['deliveries_list', { limit: 200 }],
      ['settings_get', {}],
      ['settings_save', { settings }],
    ])
  })

  it('sends the ActivityQuery with the snake_case field names of the Rust struct', async () => {
    const seen = record()
    await tauriBackend.activityQuery(buildQuery(EMPTY_FILTERS))
    expect(Object.keys((seen[0][1] as { query: object }).query).sort()).toEqual(
      ['cursor', 'event_type', 'limit', 'since', 'source', 'status', 'subject', 'until'],
    )
  })

  it('passes {code, message} errors through unchanged', async () => {
    mockIPC(() => {
      throw { code: 'not_found', message: 'no processor with id 3' }
    })
    await expect(tauriBackend.processorShow(3)).rejects.toEqual({ code: 'not_found', message: 'no processor with id 3' })
  })

  it('turns any other failure into {code: "unknown", message}', async () => {
    mockIPC(() => {
      throw 'command dashboard not found'
    })
    await expect(tauriBackend.dashboard()).rejects.toEqual({ code: 'unknown', message: 'command dashboard not found' })
  })

  it('asks the app, not the dialog plugin, for a save path', async () => {
    const seen = record((cmd) => (cmd === 'choose_save_path' ? '/home/me/log.csv' : null))
    const path = await tauriBackend.chooseSavePath('log.csv', 'CSV', 'csv')
    expect(path).toBe('/home/me/log.csv')
    expect(seen).toEqual([['choose_save_path', { defaultName: 'log.csv', filterName: 'CSV', extension: 'csv' }]])
  })

  it('delivers activity-changed payloads and stops after unlisten', async () => {
    mockIPC(() => null, { shouldMockEvents: true })
    const got: number[] = []
    const unlisten = await tauriBackend.onActivityChanged((n) => got.push(n))
    await emit('activity-changed', 3)
    await emit('activity-changed', 'junk')
    unlisten()
    await emit('activity-changed', 5)
    expect(got).toEqual([3, 0])
  })
  it('calls the Stripe API and tunnel commands with camelCase argument keys', async () => {
    const seen = record()
    await tauriBackend.stripeSetKey(2, 'rk_test_abc')
    await tauriBackend.stripeCheck(2)
    await tauriBackend.stripeCatchUp(2)
    await tauriBackend.stripeLastCatchUp(2)
    await tauriBackend.stripeRegisterWebhook(2, null)
    await tauriBackend.stripeRegisterWebhook(2, 'https://desk.example.com')
    await tauriBackend.stripeBackfill(2, ['customers', 'charges'])
    await tauriBackend.tunnelSetToken('2abcdefghijklmnopqrstuvwxyz')
    await tauriBackend.tunnelStart()
    await tauriBackend.tunnelStop()
    expect(seen).toEqual([
      ['stripe_set_key', { id: 2, key: 'rk_test_abc' }],
      ['stripe_check', { id: 2 }],
      ['stripe_catch_up', { id: 2 }],
      ['stripe_last_catch_up', { id: 2 }],
      ['stripe_register_webhook', { id: 2, baseUrl: null }],
      ['stripe_register_webhook', { id: 2, baseUrl: 'https://desk.example.com' }],
      ['stripe_backfill', { id: 2, resources: ['customers', 'charges'] }],
      ['tunnel_set_token', { token: '2abcdefghijklmnopqrstuvwxyz' }],
      ['tunnel_start', {}],
      ['tunnel_stop', {}],
    ])
  })

  it('delivers backfill-progress payloads and stops after unlisten', async () => {
    mockIPC(() => null, { shouldMockEvents: true })
    const got: unknown[] = []
    const unlisten = await tauriBackend.onBackfillProgress((p) => got.push(p))
    const p = { resource: 'customers', imported: 100, pages: 1, done: false }
    await emit('backfill-progress', p)
    unlisten()
    await emit('backfill-progress', { ...p, imported: 200 })
    expect(got).toEqual([p])
  })
})

describe('errors', () => {
  it('recognises the backend shape', () => {
    expect(isBackendError({ code: 'io', message: 'disk full' })).toBe(true)
    expect(isBackendError({ message: 'x' })).toBe(false)
    expect(isBackendError(null)).toBe(false)
  })

  it('normalises anything to something showable', () => {
    expect(toBackendError({ code: 'io', message: 'disk full', extra: 1 })).toEqual({ code: 'io', message: 'disk full' })
    expect(toBackendError(new Error('boom'))).toEqual({ code: 'unknown', message: 'boom' })
    expect(errorMessage(undefined)).toMatch(/Something went wrong/)
  })
})
