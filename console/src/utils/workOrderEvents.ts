// What a timeline event says beyond its label (who was assigned, the ETA, the diagnosis, a reason):
// the PC's order page and the device page a sticker opens show it the same way.
import type { WorkOrderEvent } from '@/api/workOrders'

import { formatDateTime } from './time'

export function eventDetail(event: WorkOrderEvent): string {
  const detail = event.detail as Record<string, any>
  const parts: string[] = []
  if (detail.previous_engineer) parts.push(`由 ${detail.previous_engineer} 改派给 ${detail.engineer}`)
  else if (detail.engineer && event.kind === 'assigned') parts.push(`工程师：${detail.engineer}`)
  if (detail.eta) parts.push(`预计 ${formatDateTime(detail.eta)}`)
  if (detail.fault_level) parts.push(`故障等级：${detail.fault_level}`)
  if (detail.diagnosis) parts.push(`诊断：${detail.diagnosis}`)
  if (detail.part?.name) parts.push(`备件：${detail.part.name}${detail.part.model ? `（${detail.part.model}）` : ''}`)
  if (detail.device_condition) parts.push(`设备状态：${detail.device_condition}`)
  if (detail.rating) parts.push(`评分：${detail.rating} 星`)
  // 服务时限: which clock, its figure and its due time
  if (event.kind.startsWith('sla_') && detail.label)
    parts.push(`${detail.label}时限 ${detail.minutes} 分钟，截止 ${detail.due_at}`)
  for (const key of ['note', 'reason', 'comment', 'improvement_action'])
    if (typeof detail[key] === 'string' && detail[key]) parts.push(detail[key])
  return parts.join('；')
}
