import { afterEach, expect, it, vi } from 'vitest'
import { mount, unmount } from 'svelte'
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import App from './App.svelte'

afterEach(() => {
  clearMocks()
  document.body.innerHTML = ''
})

it('shows the heading and the version the backend reports', async () => {
  mockIPC((cmd) => (cmd === 'plugin:app|version' ? '0.1.0' : undefined))
  const app = mount(App, { target: document.body })

  expect(document.querySelector('h1')?.textContent).toBe('Privacy Desk')
  await vi.waitFor(() =>
    expect(document.getElementById('app-version')?.textContent).toBe('Version 0.1.0'),
  )

  unmount(app)
})
