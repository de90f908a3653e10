import { describe, expect, it } from 'vitest'
import { href, keptScreen, parseRoute, sectionOf } from './router'

describe('router', () => {
  it('parses every screen', () => {
    expect(parseRoute('')).toEqual({ name: 'dashboard' })
    expect(parseRoute('#/processors')).toEqual({ name: 'processors' })
    expect(parseRoute('#/processors/new')).toEqual({ name: 'wizard', processorId: null })
    expect(parseRoute('#/processors/4/setup')).toEqual({ name: 'wizard', processorId: 4 })
    expect(parseRoute(href.processor(4))).toEqual({ name: 'processor', id: 4 })
    expect(parseRoute('#/processors/4/nonsense')).toEqual({ name: 'processors' })
    expect(parseRoute('#/subjects/12')).toEqual({ name: 'subject', id: 12 })
    expect(parseRoute('#/requests')).toEqual({ name: 'requests' })
    expect(parseRoute('#/requests/7')).toEqual({ name: 'request', id: 7 })
    expect(parseRoute('#/deliveries')).toEqual({ name: 'deliveries' })
    expect(parseRoute('#/reports')).toEqual({ name: 'reports' })
    expect(parseRoute('#/settings')).toEqual({ name: 'settings' })
    expect(parseRoute(href.settings('backups'))).toEqual({ name: 'settings', part: 'backups' })
    expect(parseRoute(href.settings('restore'))).toEqual({ name: 'settings', part: 'restore' })
    expect(parseRoute('#/settings/nonsense')).toEqual({ name: 'settings' })
    expect(parseRoute('#/nonsense')).toEqual({ name: 'dashboard' })
  })

  it('keeps link parameters', () => {
    const r = parseRoute(href.activity({ subject: 'ada@example.com', type: 'customer.*' }))
    expect(r.name).toBe('activity')
    if (r.name === 'activity') expect(r.params.get('subject')).toBe('ada@example.com')
  })

  it('highlights the section a sub-page belongs to', () => {
    expect(sectionOf(parseRoute('#/processors/new'))).toBe('processors')
    expect(sectionOf(parseRoute(href.processor(2)))).toBe('processors')
    expect(sectionOf(parseRoute('#/subjects/3'))).toBe('subjects')
    expect(sectionOf(parseRoute(href.request(3)))).toBe('requests')
  })

  it('keeps the sidebar screens as their links open them, and builds the rest per visit', () => {
    for (const section of ['dashboard', 'processors', 'activity', 'subjects', 'requests', 'deliveries', 'reports', 'settings'] as const) {
      expect(keptScreen(parseRoute(href.section(section)))).toBe(section)
    }
    expect(keptScreen(parseRoute(''))).toBe('dashboard')
    // A link with a filter or a part opens a screen of its own: the kept one keeps what the user left in it.
    expect(keptScreen(parseRoute(href.activity({ subject: 'ada@example.com' })))).toBeNull()
    expect(keptScreen(parseRoute('#/subjects?q=ada'))).toBeNull()
    expect(keptScreen(parseRoute(href.settings('backups')))).toBeNull()
    // A record's page and the Stripe set-up are built for each visit.
    for (const hash of [href.processor(4), href.newProcessor(), href.resumeProcessor(4), href.subject(12), href.request(7)]) {
      expect(keptScreen(parseRoute(hash))).toBeNull()
    }
  })
})
