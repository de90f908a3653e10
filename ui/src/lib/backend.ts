// The one door to the Rust side. Screens talk to a `Backend`: the commands generated from the
// Rust IPC contract (./bindings/ipc.ts) plus typed event subscriptions, sent through an
// `invoke` and a `listen`. The app uses `tauriBackend`; tests build one over an invoke-level
// mock (src/test/mockIpc.ts). Nothing else imports @tauri-apps/*.

import { invoke as tauriInvoke } from '@tauri-apps/api/core'
import { listen as tauriListen } from '@tauri-apps/api/event'
import { commands, EVENTS, type Commands, type ErrorCode as RustErrorCode, type EventPayloads, type Invoke } from './bindings/ipc'
import type { AccessProgress, BackfillProgress } from './types'

export type { Invoke } from './bindings/ipc'

/** What every failed call rejects with. Branch on `code`; show `message`. */
export interface BackendError {
  code: string
  message: string
}

/** Codes the Rust side sends (`Error::code()`, generated), plus `unknown` for anything else. */
export type ErrorCode = RustErrorCode | 'unknown'

/** Subscribes to one event; resolves to an unsubscribe function. */
export type Listen = <E extends keyof EventPayloads>(event: E, handler: (payload: EventPayloads[E]) => void) => Promise<() => void>

export interface Backend extends Commands {
  /** Calls `handler` with the number of newly stored events. Resolves to an unsubscribe function. */
  onActivityChanged(handler: (count: number) => void): Promise<() => void>
  /** Calls `handler` for each backfill progress event. Resolves to an unsubscribe function. */
  onBackfillProgress(handler: (progress: BackfillProgress) => void): Promise<() => void>
  /** Calls `handler` for each access-package progress event. Resolves to an unsubscribe function. */
  onAccessProgress(handler: (progress: AccessProgress) => void): Promise<() => void>
}

export function isBackendError(e: unknown): e is BackendError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as BackendError).code === 'string' &&
    typeof (e as BackendError).message === 'string'
  )
}

/** Any rejection as `{code, message}`: Rust errors pass through, the rest become `unknown`. */
export function toBackendError(e: unknown): BackendError {
  if (isBackendError(e)) return { code: e.code, message: e.message }
  if (typeof e === 'string' && e.trim()) return { code: 'unknown', message: e }
  if (e instanceof Error && e.message) return { code: 'unknown', message: e.message }
  return { code: 'unknown', message: 'Something went wrong talking to the Privacy Desk core.' }
}

/** The text to show for a failed call. */
export function errorMessage(e: unknown): string {
  return toBackendError(e).message
}

/** The commands and events over `invoke` and `listen`, every failure as a `BackendError`. */
export function createBackend(invoke: Invoke, listen: Listen): Backend {
  const call: Invoke = async (command, args) => {
    try {
      return await invoke(command, args)
    } catch (e) {
      throw toBackendError(e)
    }
  }
  const on: Listen = async (event, handler) => {
    try {
      return await listen(event, handler)
    } catch (e) {
      throw toBackendError(e)
    }
  }
  return {
    ...commands(call),
    onActivityChanged: (handler) =>
      on(EVENTS.activityChanged, (payload) => {
        const n = Number(payload)
        handler(Number.isFinite(n) ? n : 0)
      }),
    onBackfillProgress: (handler) => on(EVENTS.backfillProgress, handler),
    onAccessProgress: (handler) => on(EVENTS.accessProgress, handler),
  }
}

export const tauriBackend: Backend = createBackend(
  (command, args) => tauriInvoke(command, args),
  (event, handler) => tauriListen<EventPayloads[typeof event]>(event, (e) => handler(e.payload)),
)
