// Words for the keychain check (Settings → Keychain).

import type { Orphan } from './types'

/** Why an entry is orphaned, for the officer. */
export function orphanReason(o: Orphan): string {
  switch (o.reason) {
    case 'processor_deleted':
      return `processor ${o.processor_id ?? '?'} was deleted`
    case 'not_recorded':
      return 'this database never wrote it'
    case 'install_deleted':
      return o.data_dir ? `its data folder ${o.data_dir} no longer exists` : 'its data folder no longer exists'
    case 'install_replaced':
      return o.data_dir ? `its data folder ${o.data_dir} now holds another database` : 'its data folder now holds another database'
    default:
      return o.reason
  }
}

/** What an entry holds, from its kind (or, for app-wide entries, its name's last part). */
export function orphanWhat(o: Orphan): string {
  switch (o.kind ?? o.entry.split('/').pop()) {
    case 'signing-secret':
      return 'Webhook signing secret'
    case 'endpoint-token':
      return 'Webhook URL token'
    case 'api-key':
      return 'Stripe API key'
    case 'tunnel-token':
      return 'Tunnel token'
    case 'hash-key':
      return 'Hashing key'
    case 'install':
      return 'Install marker'
    default:
      return 'Keychain entry'
  }
}
