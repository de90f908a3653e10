// Hash routes (`#/activity?type=customer.*`): real links, back/forward, no server needed.

export type Route =
  | { name: 'dashboard' }
  | { name: 'processors' }
  | { name: 'wizard'; processorId: number | null }
  | { name: 'processor'; id: number }
  | { name: 'activity'; params: URLSearchParams }
  | { name: 'subjects'; params: URLSearchParams }
  | { name: 'subject'; id: number }
  | { name: 'requests' }
  | { name: 'request'; id: number }
  | { name: 'deliveries' }
  | { name: 'reports' }
  | { name: 'settings'; part?: SettingsPart }

/** A section of the Settings screen a link can open at (`#/settings/backups`; `restore`: Backups → Restore a backup). */
export type SettingsPart = 'backups' | 'restore'
const SETTINGS_PARTS: readonly SettingsPart[] = ['backups', 'restore']

export type Section = 'dashboard' | 'processors' | 'activity' | 'subjects' | 'requests' | 'deliveries' | 'reports' | 'settings'

export const NAV: readonly { section: Section; label: string }[] = [
  { section: 'dashboard', label: 'Dashboard' },
  { section: 'processors', label: 'Processors' },
  { section: 'activity', label: 'Activity log' },
  { section: 'subjects', label: 'Data subjects' },
  { section: 'requests', label: 'Requests' },
  { section: 'deliveries', label: 'Deliveries' },
  { section: 'reports', label: 'Reports' },
  { section: 'settings', label: 'Settings' },
]

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '')
  const q = raw.indexOf('?')
  const path = (q < 0 ? raw : raw.slice(0, q)).split('/').filter(Boolean)
  const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1))
  const id = (s: string | undefined) => (s && /^\d+$/.test(s) ? Number(s) : null)
  switch (path[0]) {
    case 'processors':
      if (path[1] === 'new') return { name: 'wizard', processorId: null }
      if (id(path[1]) !== null && path[2] === 'setup') return { name: 'wizard', processorId: id(path[1]) }
      if (id(path[1]) !== null && path[2] === undefined) return { name: 'processor', id: id(path[1])! }
      return { name: 'processors' }
    case 'activity':
      return { name: 'activity', params }
    case 'subjects': {
      const sid = id(path[1])
      return sid === null ? { name: 'subjects', params } : { name: 'subject', id: sid }
    }
    case 'requests': {
      const rid = id(path[1])
      return rid === null ? { name: 'requests' } : { name: 'request', id: rid }
    }
    case 'deliveries':
      return { name: 'deliveries' }
    case 'reports':
      return { name: 'reports' }
    case 'settings': {
      const part = SETTINGS_PARTS.find((p) => p === path[1])
      return part ? { name: 'settings', part } : { name: 'settings' }
    }
    default:
      return { name: 'dashboard' }
  }
}

export function sectionOf(route: Route): Section {
  switch (route.name) {
    case 'wizard':
    case 'processor':
      return 'processors'
    case 'subject':
      return 'subjects'
    case 'request':
      return 'requests'
    default:
      return route.name
  }
}

/**
 * The screen a route shows, when it is one that stays built between visits (lib/screen): a
 * sidebar screen as its link opens it (no filter, no part). Null for the rest, which are built
 * for each visit (a record's page, a link with a filter, the Stripe set-up).
 */
export function keptScreen(route: Route): Section | null {
  switch (route.name) {
    case 'dashboard':
    case 'processors':
    case 'requests':
    case 'deliveries':
    case 'reports':
      return route.name
    case 'activity':
    case 'subjects':
      return route.params.toString() === '' ? route.name : null
    case 'settings':
      return route.part === undefined ? route.name : null
    default:
      return null
  }
}

export const href = {
  section: (s: Section) => `#/${s}`,
  newProcessor: () => '#/processors/new',
  settings: (part: SettingsPart) => `#/settings/${part}`,
  resumeProcessor: (id: number) => `#/processors/${id}/setup`,
  processor: (id: number) => `#/processors/${id}`,
  subject: (id: number) => `#/subjects/${id}`,
  request: (id: number) => `#/requests/${id}`,
  activity: (params?: Record<string, string>) => {
    const qs = new URLSearchParams(params).toString()
    return qs ? `#/activity?${qs}` : '#/activity'
  },
}
