// 报修's draft on this phone (localStorage, per sticker): what was typed so far and the
// Idempotency-Key its send goes under, kept until the server has the order. A page closed or
// reloaded halfway opens with the draft; an answer lost on a bad network is sent again under the
// same key and answers the order the first send made. Photos stay in the page only (a few MB each).
import type { FaultFields } from '@/api/workOrders'

/** The form's fields; its times are <input type="datetime-local">'s values, Beijing time. */
export interface ReportFields extends FaultFields {
  kind: 'repair' | 'maintenance' | 'metrology'
  urgency: 'normal' | 'urgent' | 'downtime'
  fault_description: string
  contact_name: string
  mobile: string
  landline: string
  wechat: string
}

export interface ReportDraft {
  key: string
  form: ReportFields
}

const PREFIX = 'weixiu:report-draft:'

/** A new Idempotency-Key: 32 random hex digits (crypto.getRandomValues works on plain http too). */
export function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

export function loadDraft(token: string, defaults: ReportFields): ReportDraft {
  try {
    const stored = JSON.parse(localStorage.getItem(PREFIX + token) ?? 'null') as ReportDraft | null
    if (stored && typeof stored.key === 'string' && stored.form)
      return { key: stored.key, form: { ...defaults, ...stored.form } }
  } catch {
    // storage unreadable (private mode) or a draft from another version: start afresh
  }
  return { key: newKey(), form: defaults }
}

export function saveDraft(token: string, draft: ReportDraft): void {
  try {
    localStorage.setItem(PREFIX + token, JSON.stringify(draft))
  } catch {
    // full or refused: the page keeps the form, only a reload loses it
  }
}

export function clearDraft(token: string): void {
  try {
    localStorage.removeItem(PREFIX + token)
  } catch {
    // nothing kept
  }
}
