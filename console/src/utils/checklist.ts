// 检查项 as the API shapes them (operations.service_plans.checklists), and how the console prints one.
import type { Schema } from '@/api/client'

export type ChecklistItem = Schema<'ChecklistItem'>

/** A measurement's limits: 0.5–1.5 V, ≥10 MΩ, ≤0.2 Ω. */
export function limitsLabel(item: ChecklistItem): string {
  const { lower, upper } = item
  let text = ''
  if (lower !== null && upper !== null) text = `${lower}–${upper}`
  else if (lower !== null) text = `≥${lower}`
  else if (upper !== null) text = `≤${upper}`
  return `${text} ${item.unit ?? ''}`.trim()
}

/** One line: 接地电阻（≤0.2 Ω，需拍照）. */
export function describeItem(item: ChecklistItem): string {
  const extras: string[] = []
  if (item.kind === 'measurement') extras.push(limitsLabel(item))
  if (item.photo_required) extras.push('需拍照')
  return extras.length ? `${item.label}（${extras.join('，')}）` : item.label
}

/** An item as a form edits it (inputs hold '' and undefined where the API has null). */
export interface EditableItem {
  label: string
  kind: 'check' | 'measurement'
  unit: string
  lower: number | undefined
  upper: number | undefined
  photo_required: boolean
}

export const blankItem = (): EditableItem => ({
  label: '',
  kind: 'check',
  unit: '',
  lower: undefined,
  upper: undefined,
  photo_required: false,
})

export const editableItems = (items: ChecklistItem[]): EditableItem[] =>
  items.map((item) => ({
    label: item.label,
    kind: item.kind,
    unit: item.unit ?? '',
    lower: item.lower ?? undefined,
    upper: item.upper ?? undefined,
    photo_required: item.photo_required,
  }))

/** The items of a form, as the API takes them (a check without limits). Every row is sent, a blank
 * one too: the server's checklist.<n> errors then name the row the form shows. */
export function itemsBody(items: EditableItem[]): ChecklistItem[] {
  return items.map((item) => {
    const measured = item.kind === 'measurement'
    const limit = (value: number | undefined) => (measured && typeof value === 'number' ? value : null)
    return {
      label: item.label.trim(),
      kind: item.kind,
      unit: measured ? item.unit.trim() || null : null,
      lower: limit(item.lower),
      upper: limit(item.upper),
      photo_required: item.photo_required,
    }
  })
}

/** One item's record in the completion form. */
export interface RecordedResult {
  result?: 'pass' | 'fail'
  value?: number
  note: string
  photo_id?: number
}

export const blankResults = (items: ChecklistItem[]): RecordedResult[] => items.map(() => ({ note: '' }))

/** The results as the complete step takes them, one per item, in order. */
export const resultsBody = (results: RecordedResult[]) =>
  results.map((entry) => ({
    result: entry.result ?? null,
    value: typeof entry.value === 'number' ? entry.value : null,
    note: entry.note.trim() || null,
    photo_id: entry.photo_id ?? null,
  }))
