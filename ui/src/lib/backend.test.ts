// The Tauri implementation: every generated command goes out under its Rust name with
// camelCase argument keys, events arrive by their generated names, errors keep their shape.
import { afterEach, describe, expect, it } from 'vitest'
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { emit } from '@tauri-apps/api/event'
import { errorMessage, isBackendError, tauriBackend, toBackendError } from './backend'
import { COMMANDS, EVENTS, type CommandKey } from './bindings/ipc'
import { EMPTY_FILTERS, buildQuery } from './filters'

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
  it('sends each command by its Rust name with its arguments under their camelCase keys', async () => {
    const seen = record()
    const keys = Object.keys(COMMANDS) as CommandKey[]
    expect(keys.length).toBeGreaterThan(50)
    for (const key of keys) {
      const argKeys = COMMANDS[key].args as readonly string[]
      const args = argKeys.map((_, i) => `arg${i}`)
      await (tauriBackend[key] as (...a: unknown[]) => Promise<unknown>)(...args)
      expect(seen.at(-1)).toEqual([COMMANDS[key].name, Object.fromEntries(argKeys.map((k, i) => [k, `arg${i}`]))])
      expect(argKeys.every((k) => /^[a-z][a-zA-Z0-9]*$/.test(k))).toBe(true)
    }
    expect(seen).toHaveLength(keys.length)
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

  it('asks the app, not the dialog plugin, for a save path and a folder', async () => {
    const seen = record((cmd) => (cmd === COMMANDS.chooseSavePath.name ? '/home/me/log.csv' : '/home/me/out'))
    expect(await tauriBackend.chooseSavePath('log.csv', 'CSV', 'csv')).toBe('/home/me/log.csv')
    expect(await tauriBackend.chooseFolder('Where')).toBe('/home/me/out')
    expect(seen.map(([cmd]) => cmd)).toEqual([COMMANDS.chooseSavePath.name, COMMANDS.chooseFolder.name])
  })

  it('delivers activity-changed payloads and stops after unlisten', async () => {
    mockIPC(() => null, { shouldMockEvents: true })
    const got: number[] = []
    const unlisten = await tauriBackend.onActivityChanged((n) => got.push(n))
    await emit(EVENTS.activityChanged, 3)
    await emit(EVENTS.activityChanged, 'junk')
    unlisten()
    await emit(EVENTS.activityChanged, 5)
    expect(got).toEqual([3, 0])
  })

  it('delivers backfill-progress payloads and stops after unlisten', async () => {
    mockIPC(() => null, { shouldMockEvents: true })
    const got: unknown[] = []
    const unlisten = await tauriBackend.onBackfillProgress((p) => got.push(p))
    const p = { resource: 'customers', imported: 100, pages: 1, done: false }
    await emit(EVENTS.backfillProgress, p)
    unlisten()
    await emit(EVENTS.backfillProgress, { ...p, imported: 200 })
    expect(got).toEqual([p])
  })

  it('delivers access-progress payloads and stops after unlisten', async () => {
    mockIPC(() => null, { shouldMockEvents: true })
    const got: unknown[] = []
    const unlisten = await tauriBackend.onAccessProgress((p) => got.push(p))
    const p = { step: 'stripe', done: 1, total: 4 }
    await emit(EVENTS.accessProgress, p)
    unlisten()
    await emit(EVENTS.accessProgress, { ...p, done: 2 })
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
