// The Settings form: strings in the inputs, a Settings value for the backend.

import type { Settings } from './types'

export interface SettingsForm {
  orgName: string
  orgAddress: string
  orgEmail: string
  dpoName: string
  dpoEmail: string
  representative: string
  receiverPort: string
  /** '' = keep the activity log forever */
  retentionDays: string
  backgroundReceiving: boolean
}

/** The fields edited as text. */
export type TextField = Exclude<keyof SettingsForm, 'backgroundReceiving'>

export type SettingsErrors = Partial<Record<keyof SettingsForm, string>>

export function toForm(s: Settings): SettingsForm {
  return {
    orgName: s.org.name,
    orgAddress: s.org.address,
    orgEmail: s.org.email,
    dpoName: s.org.dpo_name,
    dpoEmail: s.org.dpo_email,
    representative: s.org.representative,
    receiverPort: String(s.receiver_port),
    retentionDays: s.retention_days == null ? '' : String(s.retention_days),
    backgroundReceiving: s.background_receiving,
  }
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

function wholeNumber(v: string): number | null {
  return /^\d+$/.test(v.trim()) ? Number(v.trim()) : null
}

export function validate(form: SettingsForm): SettingsErrors {
  const errors: SettingsErrors = {}
  if (form.orgEmail.trim() && !EMAIL.test(form.orgEmail.trim())) {
    errors.orgEmail = 'Enter an email address like privacy@example.com.'
  }
  if (form.dpoEmail.trim() && !EMAIL.test(form.dpoEmail.trim())) {
    errors.dpoEmail = 'Enter an email address like dpo@example.com.'
  }
  const port = wholeNumber(form.receiverPort)
  if (port === null || port < 1 || port > 65535) {
    errors.receiverPort = 'Enter a port from 1 to 65535 (the default is 8787).'
  }
  if (form.retentionDays.trim()) {
    const days = wholeNumber(form.retentionDays)
    if (days === null || days < 1) {
      errors.retentionDays = 'Enter a whole number of days, or leave it empty to keep every entry.'
    }
  }
  return errors
}

/** The form as Settings; `data_dir` is read-only and comes from `base`. */
export function fromForm(form: SettingsForm, base: Settings): Settings {
  const retention = form.retentionDays.trim()
  return {
    org: {
      name: form.orgName.trim(),
      address: form.orgAddress.trim(),
      email: form.orgEmail.trim(),
      dpo_name: form.dpoName.trim(),
      dpo_email: form.dpoEmail.trim(),
      representative: form.representative.trim(),
    },
    receiver_port: Number(form.receiverPort.trim()),
    data_dir: base.data_dir,
    retention_days: retention === '' ? null : Number(retention),
    background_receiving: form.backgroundReceiving,
  }
}

export function sameForm(a: SettingsForm, b: SettingsForm): boolean {
  return (Object.keys(a) as (keyof SettingsForm)[]).every((k) => a[k] === b[k])
}
