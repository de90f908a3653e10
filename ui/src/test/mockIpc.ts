// The backend of the Vitest tests: the real `createBackend` (lib/backend.ts) over an
// invoke-level mock. Each command answers from a fixture — a value, or a function of the
// command's arguments — never from a second implementation of the Rust side. Not imported
// by the app.

import { COMMANDS, type CommandKey, type Commands, type EventPayloads, type Invoke } from '../lib/bindings/ipc'
import { createBackend, type Backend, type BackendError, type Listen } from '../lib/backend'
import { defaultFixtures } from './fixtures'

type Out<K extends CommandKey> = Awaited<ReturnType<Commands[K]>>

/** What a command answers: a value, or a function of its arguments (which may throw a `BackendError`). */
export type Fixture<K extends CommandKey> = Out<K> | ((...args: Parameters<Commands[K]>) => Out<K> | Promise<Out<K>>)
export type Fixtures = { [K in CommandKey]?: Fixture<K> }

const BY_NAME = new Map<string, CommandKey>(Object.entries(COMMANDS).map(([key, c]) => [c.name, key as CommandKey]))

export interface MockBackend extends Backend {
  /** The fixture of each command (tests replace them as they go). */
  fixtures: Fixtures
  /** Every command sent, in order: [function name, arguments in parameter order]. */
  calls: [CommandKey, unknown[]][]
  /** Makes the next call of `command` reject with this error. */
  failNext(command: CommandKey, error: BackendError): void
  /** Delivers an event to its listeners, as the Rust side emits it. */
  emit<E extends keyof EventPayloads>(event: E, payload: EventPayloads[E]): void
  /** How many listeners an event has (all events when none is named). */
  listenerCount(event?: keyof EventPayloads): number
}

function clone<T>(v: T): T {
  return v === undefined || v === null ? v : (JSON.parse(JSON.stringify(v)) as T)
}

export function createMockBackend(fixtures: Fixtures = {}): MockBackend {
  const failures = new Map<CommandKey, BackendError>()
  const listeners = new Map<string, Set<(payload: unknown) => void>>()
  const calls: [CommandKey, unknown[]][] = []
  const state = { fixtures: { ...defaultFixtures(), ...fixtures } as Fixtures }

  const invoke: Invoke = async <T,>(command: string, args: Record<string, unknown>): Promise<T> => {
    const key = BY_NAME.get(command)
    if (!key) throw { code: 'unknown', message: `command ${command} not found` } satisfies BackendError
    const positional = (COMMANDS[key].args as readonly string[]).map((k) => args[k])
    calls.push([key, positional])
    const failure = failures.get(key)
    if (failure) {
      failures.delete(key)
      throw failure
    }
    const fixture = state.fixtures[key] as unknown
    if (fixture === undefined) throw { code: 'unknown', message: `no fixture for ${command}` } satisfies BackendError
    const out = typeof fixture === 'function' ? await (fixture as (...a: unknown[]) => unknown)(...positional) : fixture
    return clone(out) as T
  }

  const listen: Listen = async (event, handler) => {
    let set = listeners.get(event)
    if (!set) listeners.set(event, (set = new Set()))
    const h = handler as (payload: unknown) => void
    set.add(h)
    return () => void set.delete(h)
  }

  const extra = {
    calls,
    failNext(command: CommandKey, error: BackendError) {
      failures.set(command, error)
    },
    emit<E extends keyof EventPayloads>(event: E, payload: EventPayloads[E]) {
      for (const l of [...(listeners.get(event) ?? [])]) l(clone(payload))
    },
    listenerCount(event?: keyof EventPayloads) {
      if (event) return listeners.get(event)?.size ?? 0
      return [...listeners.values()].reduce((n, s) => n + s.size, 0)
    },
  }
  const mock = Object.assign(createBackend(invoke, listen), extra) as MockBackend
  Object.defineProperty(mock, 'fixtures', {
    get: () => state.fixtures,
    set: (f: Fixtures) => (state.fixtures = f),
  })
  return mock
}
