// 服务时限 (SLA): the institution's policy, the contract's override on an authorization, and how an
// order's deadlines read (time left, overdue).
import { api, type Schema } from './client'

export type SlaPolicy = Schema<'SlaPolicy'>
export type Deadline = Schema<'Deadline'>
export type Targets = SlaPolicy['targets']
export type WorkOrderKind = keyof Targets
export type Urgency = keyof Targets['repair']
export type Clock = keyof Targets['repair']['normal']
/** A table of figures where a cell may be left empty (the contract's override: inherited). */
export type PartialTargets = Record<WorkOrderKind, Record<Urgency, Record<Clock, number | null>>>

export const SLA_KINDS: [WorkOrderKind, string][] = [
  ['repair', '维修'],
  ['maintenance', '保养'],
  ['metrology', '计量'],
]
export const SLA_URGENCIES: [Urgency, string][] = [
  ['normal', '普通'],
  ['urgent', '紧急'],
  ['downtime', '停机影响诊疗'],
]
export const SLA_CLOCKS: [Clock, string][] = [
  ['response', '响应（接单）'],
  ['arrival', '到场'],
  ['completion', '完成'],
]

export const getSlaPolicy = () => api.get<SlaPolicy>('/institution-settings/sla')
export const updateSlaPolicy = (body: { targets: Targets; escalate_after_minutes: number }) =>
  api.put<SlaPolicy>('/institution-settings/sla', body)

/** A table with every cell empty, or a copy of `from` (null where it has none). */
export function targetsOf(from?: Partial<PartialTargets> | null): PartialTargets {
  const table = {} as PartialTargets
  for (const [kind] of SLA_KINDS) {
    table[kind] = {} as PartialTargets[WorkOrderKind]
    for (const [urgency] of SLA_URGENCIES) {
      table[kind][urgency] = {} as Record<Clock, number | null>
      for (const [clock] of SLA_CLOCKS) table[kind][urgency][clock] = from?.[kind]?.[urgency]?.[clock] ?? null
    }
  }
  return table
}

/** Whether any cell of the table is set. */
export const anySet = (table: PartialTargets) =>
  SLA_KINDS.some(([kind]) =>
    SLA_URGENCIES.some(([urgency]) => SLA_CLOCKS.some(([clock]) => table[kind][urgency][clock] !== null)),
  )

/** 90 → "1小时30分钟", 4320 → "3天" (minutes as people say them). */
export function duration(minutes: number): string {
  const days = Math.floor(minutes / 1440)
  const hours = Math.floor((minutes % 1440) / 60)
  const rest = minutes % 60
  const text = `${days ? `${days}天` : ''}${hours ? `${hours}小时` : ''}${rest ? `${rest}分钟` : ''}`
  return text || '0分钟'
}

/** What a deadline's tag says: 剩余 2小时 / 已超时 15分钟 / 达标 / 超时 / 已暂停 / 不计. */
export function deadlineText(deadline: Deadline): string {
  const left = deadline.minutes_left
  if (left !== null && left >= 0) return `剩余 ${duration(left)}`
  if (left !== null) return `已超时 ${duration(-left)}`
  return deadline.state_label
}

export function deadlineTheme(deadline: Deadline): 'success' | 'danger' | 'warning' | 'default' | 'primary' {
  if (deadline.state === 'met') return 'success'
  if (deadline.state === 'missed' || deadline.state === 'overdue' || deadline.state === 'missed_open') return 'danger'
  if (deadline.state === 'paused') return 'warning'
  if (deadline.state === 'void') return 'default'
  // running: amber once 80 % of the time is gone
  return deadline.minutes_left !== null && deadline.minutes_left <= deadline.minutes * 0.2 ? 'warning' : 'primary'
}

/** sla.repair.downtime.response → 服务时限·维修·停机影响诊疗·响应（接单）（分钟） */
export function slaFieldLabel(key: string): string {
  const [, kind, urgency, clock] = key.split('.')
  const name = (pairs: [string, string][], value: string) => pairs.find(([v]) => v === value)?.[1] ?? value
  return `服务时限·${name(SLA_KINDS, kind)}·${name(SLA_URGENCIES, urgency)}·${name(SLA_CLOCKS, clock)}（分钟）`
}
