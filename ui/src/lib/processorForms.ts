// The Processors screen's "add a manual processor" and "add a webhook processor" forms: plain
// data in, a validated request (or per-field errors) out. The Rust side checks the same rules
// (processors.rs `clean_name`, webhook.rs `WebhookConfig::check`, `check_secret`).

import type { SignatureEncoding, WebhookConfig } from './types'

export interface WebhookForm {
  name: string
  signature_header: string
  signature_encoding: SignatureEncoding
  signature_prefix: string
  id_pointer: string
  type_pointer: string
  time_pointer: string
  email_pointer: string
  name_pointer: string
  signing_secret: string
}

export type WebhookFormErrors = Partial<Record<keyof WebhookForm, string>>

export function emptyWebhookForm(): WebhookForm {
  return {
    name: '',
    signature_header: 'X-Signature',
    signature_encoding: 'hex',
    signature_prefix: '',
    id_pointer: '',
    type_pointer: '',
    time_pointer: '',
    email_pointer: '',
    name_pointer: '',
    signing_secret: '',
  }
}

/** An HTTP header name (RFC 9110 token). */
const HEADER = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/

export function validateName(name: string): string | null {
  const n = name.trim()
  if (!n) return 'Give the processor a name.'
  if (n.length > 100) return 'Keep the name under 100 characters.'
  return null
}

function pointerError(p: string, required: boolean): string | null {
  const v = p.trim()
  if (!v) return required ? 'Required: a JSON pointer such as /data/id.' : null
  if (!v.startsWith('/')) return 'A JSON pointer starts with “/”, like /data/id.'
  if (v.length > 500) return 'Keep the pointer under 500 characters.'
  return null
}

export function validateWebhook(f: WebhookForm): WebhookFormErrors {
  const e: WebhookFormErrors = {}
  const name = validateName(f.name)
  if (name) e.name = name
  if (!HEADER.test(f.signature_header.trim())) e.signature_header = 'An HTTP header name, like X-Signature.'
  if (f.signature_prefix.length > 100 || /\p{Cc}/u.test(f.signature_prefix)) {
    e.signature_prefix = 'At most 100 printable characters.'
  }
  for (const [k, required] of [
    ['id_pointer', true],
    ['type_pointer', true],
    ['time_pointer', false],
    ['email_pointer', true],
    ['name_pointer', false],
  ] as const) {
    const err = pointerError(f[k], required)
    if (err) e[k] = err
  }
  const s = f.signing_secret.trim()
  if (s && (s.length < 8 || /\p{Cc}/u.test(s))) e.signing_secret = 'At least 8 printable characters.'
  return e
}

/** The command's arguments; call only when `validateWebhook` found nothing. */
export function toWebhookRequest(f: WebhookForm): { name: string; config: WebhookConfig; signingSecret: string | null } {
  const opt = (s: string) => (s.trim() ? s.trim() : null)
  return {
    name: f.name.trim(),
    config: {
      signature_header: f.signature_header.trim(),
      signature_encoding: f.signature_encoding,
      signature_prefix: f.signature_prefix,
      id_pointer: f.id_pointer.trim(),
      type_pointer: f.type_pointer.trim(),
      time_pointer: opt(f.time_pointer),
      email_pointer: f.email_pointer.trim(),
      name_pointer: opt(f.name_pointer),
    },
    signingSecret: opt(f.signing_secret),
  }
}
