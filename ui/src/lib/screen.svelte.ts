// The sidebar's screens stay built while another is shown (issue 20, "Memory"): building and
// dropping a whole screen on every visit is what grew WebKit's web process over a long use
// (docs/benchmarks.md, "The window over a long use"). A kept screen is taken out of the
// document while hidden (only the screen shown is in it: one set of ids, nothing found that
// the user cannot see) and put back, unchanged, when shown again. A screen loads its data and
// listens for live updates only while it is shown (`whileShown`).

import { getAllContexts, getContext, mount, unmount, untrack, type Component } from 'svelte'

const KEY = Symbol('screen')

/** Whether the screen is the one on show. */
interface ScreenState {
  readonly shown: boolean
}

const ALWAYS_SHOWN: ScreenState = { shown: true }

/** The screen this component belongs to; screens built for one visit are always shown. */
function useScreen(): ScreenState {
  return getContext<ScreenState | undefined>(KEY) ?? ALWAYS_SHOWN
}

/**
 * `onMount` for what a screen does while the user can see it: runs `start` when the screen is
 * shown (at once for a new screen, and again each time a kept screen comes back) and its
 * cleanup when the screen is hidden or destroyed. Loads go here, so a screen shown again
 * shows today's data; so do live updates and timers, so a hidden screen does no work.
 */
export function whileShown(start: () => void | (() => void)): void {
  const screen = useScreen()
  $effect(() => {
    if (!screen.shown) return
    return untrack(start)
  })
}

interface Kept {
  /** The screen's own element; in `host` while shown, out of the document while hidden. */
  element: HTMLElement
  state: { shown: boolean }
  instance: Record<string, unknown>
}

/**
 * The kept screens of one window, shown one at a time in the owner's `host` element. Call
 * `show` with each route's key (`null`: a screen built for one visit is shown, so none of
 * these) and `destroy` when the window goes. Create it during the owner's initialisation: the
 * screens get its contexts.
 */
export class KeptScreens {
  readonly #contexts: Map<unknown, unknown>
  readonly #built = new Map<string, Kept>()
  #shown: string | null = null

  constructor() {
    this.#contexts = new Map(getAllContexts())
  }

  show(host: HTMLElement, key: string | null, component: Component | null): void {
    if (key === this.#shown) return
    const hidden = this.#shown === null ? undefined : this.#built.get(this.#shown)
    if (hidden) {
      hidden.state.shown = false
      hidden.element.remove()
    }
    this.#shown = key
    if (key === null || component === null) return
    const kept = this.#built.get(key) ?? this.#build(key, component)
    host.append(kept.element)
    kept.state.shown = true
  }

  destroy(): void {
    for (const kept of this.#built.values()) {
      void unmount(kept.instance)
      kept.element.remove()
    }
    this.#built.clear()
    this.#shown = null
  }

  #build(key: string, component: Component): Kept {
    const element = document.createElement('div')
    element.className = 'kept-screen'
    element.dataset.kept = key
    const state = $state({ shown: true })
    const context = new Map(this.#contexts)
    context.set(KEY, state)
    const kept = { element, state, instance: mount(component, { target: element, context }) }
    this.#built.set(key, kept)
    return kept
  }
}
