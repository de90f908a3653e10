/** Copies text to the clipboard; falls back to a hidden textarea where the async API is missing. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text)
      return true
    }
  } catch {
    // fall through to the fallback
  }
  const area = document.createElement('textarea')
  area.value = text
  area.setAttribute('readonly', '')
  area.style.position = 'fixed'
  area.style.opacity = '0'
  document.body.appendChild(area)
  area.select()
  let ok = false
  try {
    ok = document.execCommand('copy')
  } catch {
    ok = false
  }
  area.remove()
  return ok
}

/**
 * Runs `fn` at most once per `ms`: the first call runs at once, calls during the pause are
 * merged into one run at its end. `cancel()` drops a pending run.
 */
export function throttle(fn: () => void, ms: number): { (): void; cancel(): void } {
  let last = -Infinity
  let timer: ReturnType<typeof setTimeout> | null = null
  const run = () => {
    timer = null
    last = Date.now()
    fn()
  }
  const throttled = () => {
    if (timer) return
    const wait = last + ms - Date.now()
    if (wait <= 0) run()
    else timer = setTimeout(run, wait)
  }
  throttled.cancel = () => {
    if (timer) clearTimeout(timer)
    timer = null
  }
  return throttled
}

/** Delays `fn` until calls stop for `ms`. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): { (...args: A): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | null = null
  const debounced = (...args: A) => {
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = null
      fn(...args)
    }, ms)
  }
  debounced.cancel = () => {
    if (timer) clearTimeout(timer)
    timer = null
  }
  return debounced
}

/**
 * Keeps a screen fresh: calls `load` (throttled to `throttleMs`) whenever events are stored,
 * and every `everyMs` when given (for what changes without an event). Returns the cleanup
 * for `onMount`.
 */
export function refreshOnActivity(
  subscribe: (handler: () => void) => Promise<() => void>,
  load: () => void,
  throttleMs: number,
  everyMs?: number,
): () => void {
  const refresh = throttle(load, throttleMs)
  const timer = everyMs ? setInterval(refresh, everyMs) : null
  let unlisten: (() => void) | null = null
  let gone = false
  subscribe(refresh)
    .then((un) => (gone ? un() : (unlisten = un)))
    .catch(() => {})
  return () => {
    gone = true
    if (timer) clearInterval(timer)
    refresh.cancel()
    unlisten?.()
  }
}
