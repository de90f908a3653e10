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
  /** The sender signs a delivery id and timestamp (Standard Webhooks): on unless it cannot. */
  timestamp: boolean
  id_header: string
  timestamp_header: string
  tolerance_secs: string
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
    timestamp: true,
    id_header: 'webhook-id',
    timestamp_header: 'webhook-timestamp',
    tolerance_secs: '300',
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
  if (f.timestamp) {
    if (!HEADER.test(f.id_header.trim())) e.id_header = 'An HTTP header name, like webhook-id.'
    if (!HEADER.test(f.timestamp_header.trim())) e.timestamp_header = 'An HTTP header name, like webhook-timestamp.'
    const names = [f.signature_header, f.id_header, f.timestamp_header].map((h) => h.trim().toLowerCase())
    if (!e.id_header && !e.timestamp_header && new Set(names).size < 3) {
      e.timestamp_header = 'The signature, id and timestamp headers must be three different headers.'
    }
    const t = f.tolerance_secs.trim()
    if (!/^\d{1,5}$/.test(t) || Number(t) < 1 || Number(t) > 86400) e.tolerance_secs = 'Seconds, from 1 to 86400 (300 is usual).'
    if (/\s/.test(f.signature_prefix.trim())) e.signature_prefix = 'With a signed timestamp the prefix cannot contain spaces.'
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
      timestamp: f.timestamp
        ? { id_header: f.id_header.trim(), timestamp_header: f.timestamp_header.trim(), tolerance_secs: Number(f.tolerance_secs.trim()) }
        : null,
    },
    signingSecret: opt(f.signing_secret),
  }
}
