// The Tauri implementation of the data-subject-request calls: command names and argument keys.
import { afterEach, expect, it } from 'vitest'
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { emit } from '@tauri-apps/api/event'
import { tauriBackend } from './backend'

afterEach(() => clearMocks())

it('calls the request commands by snake_case name with camelCase argument keys', async () => {
  const seen: [string, unknown][] = []
  mockIPC((cmd, args) => {
    seen.push([cmd, args])
    return null
  })
  await tauriBackend.requestsList()
  await tauriBackend.requestCreate('access', 'ada@example.com', 'gdpr', '2026-03-01')
  await tauriBackend.requestPage(1)
  await tauriBackend.requestExtend(1, 'complex')
  await tauriBackend.requestVerifyIdentity(1, 'email')
  await tauriBackend.requestNote(1, 'hi')
  await tauriBackend.requestReject(1, 'no')
  await tauriBackend.requestComplete(1)
  await tauriBackend.erasurePlan(2)
  await tauriBackend.erasureExecute(2)
  await tauriBackend.erasureReceipt(2, '/tmp/r.html')
  await tauriBackend.accessPackage(1, '/tmp')
  await tauriBackend.auditList(null)
  await tauriBackend.auditList(1)
  await tauriBackend.auditVerify()
  await tauriBackend.financialRetentionGet()
  await tauriBackend.financialRetentionSet(null, 'de')
  await tauriBackend.financialRetentionSet(10, null)
  expect(seen).toEqual([
    ['requests_list', {}],
    ['request_create', { kind: 'access', email: 'ada@example.com', regime: 'gdpr', received: '2026-03-01' }],
    ['request_page', { id: 1 }],
    ['request_extend', { id: 1, reason: 'complex' }],
    ['request_verify_identity', { id: 1, method: 'email' }],
    ['request_note', { id: 1, text: 'hi' }],
    ['request_reject', { id: 1, reason: 'no' }],
    ['request_complete', { id: 1 }],
    ['erasure_plan', { id: 2 }],
    ['erasure_execute', { id: 2 }],
    ['erasure_receipt', { id: 2, path: '/tmp/r.html' }],
    ['access_package', { id: 1, dir: '/tmp' }],
    ['audit_list', { requestId: null }],
    ['audit_list', { requestId: 1 }],
    ['audit_verify', {}],
    ['financial_retention_get', {}],
    ['financial_retention_set', { years: null, preset: 'de' }],
    ['financial_retention_set', { years: 10, preset: null }],
  ])
})

it('asks the app, not the dialog plugin, for a folder', async () => {
  const seen: [string, unknown][] = []
  mockIPC((cmd, args) => {
    seen.push([cmd, args])
    return cmd === 'choose_folder' ? '/home/me/out' : null
  })
  expect(await tauriBackend.chooseFolder('Where')).toBe('/home/me/out')
  expect(seen).toEqual([['choose_folder', { title: 'Where' }]])
})

it('delivers access-progress payloads and stops after unlisten', async () => {
  mockIPC(() => null, { shouldMockEvents: true })
  const got: unknown[] = []
  const unlisten = await tauriBackend.onAccessProgress((p) => got.push(p))
  const p = { step: 'stripe', done: 1, total: 4 }
  await emit('access-progress', p)
  unlisten()
  await emit('access-progress', { ...p, done: 2 })
  expect(got).toEqual([p])
})
