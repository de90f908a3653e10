import { getContext, setContext } from 'svelte'
import type { Backend } from './backend'

const KEY = Symbol('backend')

/** Called once by App: every screen below uses this backend. */
export function provideBackend(backend: Backend): void {
  setContext(KEY, backend)
}

export function useBackend(): Backend {
  const backend = getContext<Backend | undefined>(KEY)
  if (!backend) throw new Error('no backend: mount screens inside <App>')
  return backend
}
