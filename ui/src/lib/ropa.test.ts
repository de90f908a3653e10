import { describe, expect, it } from 'vitest'
import {
  checklistProgress,
  exportFileName,
  fromActivityForm,
  splitList,
  toActivityForm,
  validateActivity,
  emptyFields,
} from './ropa'
import type { ProcessingActivity } from './types'

const stripe: ProcessingActivity = {
  id: 1,
  default_key: 'stripe:payments',
  fields: {
    ...emptyFields(),
    purpose: 'Taking payments',
    lawful_basis: 'Art. 6(1)(b) contract',
    data_subjects: ['Customers'],
    data_categories: ['email', 'name'],
    recipients: ['Stripe', 'Card networks'],
    last_review: '2026-01-31',
  },
  processor_ids: [1],
  processors: ['Stripe'],
  observed: ['email', 'phone'],
  updated_at: '2026-03-01T00:00:00Z',
}

describe('the activity form', () => {
  it('round-trips an activity through the form', () => {
    const form = toActivityForm(stripe)
    expect(form.data_categories).toBe('email\nname')
    expect(form.last_review).toBe('2026-01-31')
    const back = fromActivityForm(form)
    expect(back.fields).toEqual(stripe.fields)
    expect(back.processorIds).toEqual([1])
  })

  it('splits lists on lines and semicolons and drops empty items', () => {
    expect(splitList(' Customers ;\n\nSuppliers\n')).toEqual(['Customers', 'Suppliers'])
    const form = { ...toActivityForm(null), purpose: ' Newsletter ', recipients: 'Mailjet; ', last_review: ' ' }
    const { fields } = fromActivityForm(form)
    expect(fields.purpose).toBe('Newsletter')
    expect(fields.recipients).toEqual(['Mailjet'])
    expect(fields.last_review).toBeNull()
  })

  it('requires a purpose and a well-formed review date', () => {
    expect(validateActivity(toActivityForm(null))).toEqual({ purpose: expect.any(String) })
    expect(validateActivity({ ...toActivityForm(stripe), last_review: '31/01/2026' })).toEqual({
      last_review: expect.any(String),
    })
    expect(validateActivity(toActivityForm(stripe))).toEqual({})
  })
})

describe('exports and checklist', () => {
  it('suggests a dated file name', () => {
    expect(exportFileName('xlsx', new Date('2026-03-30T10:00:00Z'))).toBe('ropa-2026-03-30.xlsx')
  })

  it('counts the steps done', () => {
    const item = (done_on: string | null) => ({ key: 'k', label: 'L', done_on, evidence: '' })
    expect(checklistProgress([item('2026-01-01'), item(null), item(null)])).toEqual({ done: 1, total: 3 })
  })
})
