import type { PlanKind, ServicePlan } from '@/api/servicePlans'
import { editableItems, itemsBody } from '@/utils/checklist'

import type { PlanForm } from './PlanFields.vue'

export function blankPlanForm(kind: PlanKind): PlanForm {
  return {
    interval_count: kind === 'maintenance' ? 3 : 12,
    interval_unit: 'month',
    lead_days: 7,
    anchor: kind === 'maintenance' ? 'schedule' : 'completion',
    due_on: '',
    contact_id: undefined,
    checklist: [],
    note: '',
  }
}

export function planFormOf(plan: ServicePlan): PlanForm {
  return {
    interval_count: plan.interval_count,
    interval_unit: plan.interval_unit,
    lead_days: plan.lead_days,
    anchor: plan.anchor,
    due_on: plan.next_due_on ?? '',
    contact_id: plan.contact_id ?? undefined,
    checklist: editableItems(plan.checklist),
    note: plan.note ?? '',
  }
}

/** The fields every plan body shares (the due date's name differs between 新增 and 修改). */
export function planFields(form: PlanForm) {
  return {
    interval_count: form.interval_count,
    interval_unit: form.interval_unit,
    lead_days: form.lead_days,
    anchor: form.anchor,
    checklist: itemsBody(form.checklist),
    note: form.note.trim() || null,
  }
}
