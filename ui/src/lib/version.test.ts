import { describe, expect, it } from 'vitest'
import { loadVersionLabel, versionLabel } from './version'

describe('versionLabel', () => {
  it('prefixes the version', () => {
    expect(versionLabel('0.1.0')).toBe('Version 0.1.0')
  })

  it('drops a leading "v" and surrounding space', () => {
    expect(versionLabel(' v1.2.3\n')).toBe('Version 1.2.3')
  })

  it('says unknown for an empty version', () => {
    expect(versionLabel('')).toBe('Version unknown')
  })
})

describe('loadVersionLabel', () => {
  it('formats what the backend returns', async () => {
    expect(await loadVersionLabel(async () => '2.0.0-beta.1')).toBe('Version 2.0.0-beta.1')
  })

  it('says unknown when the backend call fails', async () => {
    const failing = () => Promise.reject(new Error('no IPC outside Tauri'))
    expect(await loadVersionLabel(failing)).toBe('Version unknown')
  })
})
