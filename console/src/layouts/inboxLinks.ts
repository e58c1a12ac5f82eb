import type { InboxMessage } from '@/api/inbox'

/** Where a notice leads: its work order, its alert plan, or the inbox itself. */
export function linkOf(message: InboxMessage): string {
  if (message.work_order_id) return `/work-orders/${message.work_order_id}`
  if (message.alert_plan_id) return `/alert-plans/${message.alert_plan_id}`
  return '/inbox'
}
