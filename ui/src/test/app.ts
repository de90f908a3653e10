// Test helpers: mount the whole app on a route with a mock backend.
import { flushSync, mount, unmount } from 'svelte'
import App from '../App.svelte'
import type { MockBackend } from './mockIpc'

export function renderApp(backend: MockBackend, hash = '#/dashboard') {
  // replaceState: no hashchange event arrives after mounting.
  history.replaceState(null, '', hash)
  const app = mount(App, { target: document.body, props: { backend } })
  flushSync()
  return {
    $: <T extends Element = HTMLElement>(sel: string) => document.querySelector<T>(sel),
    $$: <T extends Element = HTMLElement>(sel: string) => [...document.querySelectorAll<T>(sel)],
    destroy: () => {
      unmount(app)
      document.body.innerHTML = ''
    },
  }
}

/** Types into an input the way a user does (value, then an input event that bubbles). */
export function type(el: HTMLInputElement | HTMLSelectElement | null, value: string) {
  if (!el) throw new Error('no such input')
  el.value = value
  el.dispatchEvent(new Event('input', { bubbles: true }))
  el.dispatchEvent(new Event('change', { bubbles: true }))
  flushSync()
}

export function click(el: Element | null) {
  if (!el) throw new Error('nothing to click')
  ;(el as HTMLElement).click()
  flushSync()
}

export function navigate(hash: string) {
  history.replaceState(null, '', hash)
  window.dispatchEvent(new HashChangeEvent('hashchange'))
  flushSync()
}

export const text = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim() ?? ''
