// Pure logic of the Reports screen: the activity edit form, export formats, checklist progress.

import type { ActivityFields, ChecklistItem, Format, ProcessingActivity, Ropa } from './types'

export interface ExportFormat {
  format: Format
  label: string
  extension: string
}

export const EXPORT_FORMATS: readonly ExportFormat[] = [
  { format: 'xlsx', label: 'Excel workbook (ICO template layout)', extension: 'xlsx' },
  { format: 'pdf', label: 'PDF for reading and signing', extension: 'pdf' },
  { format: 'csv', label: 'CSV (one row per activity)', extension: 'csv' },
  { format: 'json', label: 'JSON (the whole record)', extension: 'json' },
]

/** `ropa-2026-03-30.xlsx`: the save dialog's suggested name. */
export function exportFileName(format: Format, today: Date = new Date()): string {
  return `ropa-${today.toISOString().slice(0, 10)}.${format}`
}

/** Category keys the backend observes in events, with their labels. */
export const CATEGORY_LABELS: Record<string, string> = {
  email: 'Email address',
  name: 'Name',
  postal_address: 'Postal (billing) address',
  shipping_address: 'Shipping address',
  phone: 'Phone number',
  payment_card: 'Payment card details',
  tax_id: 'Tax identification number',
  transaction_history: 'Transaction and payment history',
}

export function categoryLabel(key: string): string {
  return CATEGORY_LABELS[key] ?? key
}

/** The edit form: lists as text, one item per line. */
export interface ActivityForm {
  business_function: string
  purpose: string
  description: string
  lawful_basis: string
  joint_controller: string
  data_subjects: string
  data_categories: string
  special_categories: boolean
  special_categories_condition: string
  criminal_offence_data: boolean
  source: string
  recipients: string
  transfers: string
  transfer_safeguards: string
  retention: string
  security_measures: string
  dpa_link: string
  dpia_required: boolean
  dpia_reference: string
  last_review: string
  processor_ids: number[]
}

export type ActivityFormErrors = Partial<Record<'purpose' | 'last_review', string>>

export function emptyFields(): ActivityFields {
  return {
    business_function: '',
    purpose: '',
    description: '',
    lawful_basis: '',
    joint_controller: '',
    data_subjects: [],
    data_categories: [],
    special_categories: false,
    special_categories_condition: '',
    criminal_offence_data: false,
    source: '',
    recipients: [],
    transfers: '',
    transfer_safeguards: '',
    retention: '',
    security_measures: '',
    dpa_link: '',
    dpia_required: false,
    dpia_reference: '',
    last_review: null,
  }
}

const LIST_KEYS = ['data_subjects', 'data_categories', 'recipients'] as const

export function toActivityForm(a: ProcessingActivity | null): ActivityForm {
  const f = a?.fields ?? emptyFields()
  return {
    ...f,
    data_subjects: f.data_subjects.join('\n'),
    data_categories: f.data_categories.join('\n'),
    recipients: f.recipients.join('\n'),
    last_review: f.last_review ?? '',
    processor_ids: [...(a?.processor_ids ?? [])],
  }
}

/** Lines (or semicolons) to a list, trimmed, without empty items. */
export function splitList(text: string): string[] {
  return text
    .split(/[\n;]/)
    .map((s) => s.trim())
    .filter(Boolean)
}

export function fromActivityForm(form: ActivityForm): { fields: ActivityFields; processorIds: number[] } {
  const { processor_ids, ...rest } = form
  const fields: ActivityFields = {
    ...rest,
    purpose: rest.purpose.trim(),
    data_subjects: [],
    data_categories: [],
    recipients: [],
    last_review: rest.last_review.trim() || null,
  }
  for (const k of LIST_KEYS) fields[k] = splitList(form[k])
  return { fields, processorIds: [...processor_ids] }
}

export function validateActivity(form: ActivityForm): ActivityFormErrors {
  const errors: ActivityFormErrors = {}
  if (!form.purpose.trim()) errors.purpose = 'Enter the purpose of the processing.'
  const d = form.last_review.trim()
  if (d && !/^\d{4}-\d{2}-\d{2}$/.test(d)) errors.last_review = 'Use a date like 2026-03-30.'
  return errors
}

/** "4 of 6 done". */
export function checklistProgress(items: ChecklistItem[]): { done: number; total: number } {
  return { done: items.filter((i) => i.done_on).length, total: items.length }
}

/** Whether the record names the controller: exports without one are incomplete. */
export function controllerMissing(r: Ropa): boolean {
  return !r.controller.name.trim()
}
