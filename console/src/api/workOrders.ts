// 工单: the lists, the engineer's queue, 报修 with photos, the detail and every step of the SOP.
import { api, apiUrl, type JsonBody, type QueryOf, request, type Schema } from './client'

export type WorkOrderRow = Schema<'WorkOrderRow'>
export type WorkOrderPage = Schema<'WorkOrderPage'>
export type WorkOrderDetail = Schema<'WorkOrderDetail'>
export type WorkOrderEvent = Schema<'Event'>
export type Candidate = Schema<'Candidate'>
export type ServiceReport = Schema<'ServiceReport'>
export type Part = Schema<'Part'>
export type Photo = Schema<'Photo'>
export type SignOff = Schema<'SignOff'>
export type WorkOrderStats = Schema<'WorkOrderStats'>
export type WorkOrderStatus = WorkOrderRow['status']
export type ListQuery = QueryOf<'/api/v1/work-orders', 'get'>
export type StatsQuery = QueryOf<'/api/v1/work-orders/stats', 'get'>
export type ReportBody = JsonBody<'/api/v1/work-orders', 'post'>

export const STATUS_LABELS: Record<WorkOrderStatus, string> = {
  pending: '待接单',
  accepted: '已接单',
  departed: '已出发',
  on_site: '已到场',
  diagnosed: '已诊断',
  waiting_parts: '待备件',
  completed: '待确认',
  rework: '退回返修',
  confirmed: '待评价',
  follow_up: '待回访',
  closed: '已归档',
  cancelled: '已撤销',
}
/** The board's columns, in the SOP's order. */
export const BOARD_STATUSES: WorkOrderStatus[] = [
  'pending',
  'accepted',
  'departed',
  'on_site',
  'diagnosed',
  'waiting_parts',
  'rework',
  'completed',
  'confirmed',
  'follow_up',
  'closed',
  'cancelled',
]
export const OPEN_STATUSES: WorkOrderStatus[] = [
  'pending',
  'accepted',
  'departed',
  'on_site',
  'diagnosed',
  'waiting_parts',
  'rework',
]
export const KIND_LABELS = { repair: '维修', maintenance: '预防性维护', metrology: '计量' } as const
export const URGENCY_LABELS = { normal: '普通', urgent: '紧急', downtime: '停机影响诊疗' } as const
export const FAULT_LEVEL_LABELS = { minor: '一般故障', major: '严重故障', critical: '重大故障' } as const
export const FREQUENCY_LABELS = { once: '偶发一次', intermittent: '间歇出现', persistent: '持续存在' } as const
export const CONDITION_LABELS = {
  normal: '正常运行',
  limited: '限制使用',
  out_of_service: '停用待修',
  scrap_suggested: '建议报废',
} as const
export const PART_ORIGIN_LABELS = { original: '原厂', certified: '认证合格' } as const
export const REPLACED_PART_LABELS = {
  returned: '交还医院',
  vendor_recovered: '厂家回收',
  scrapped: '报废销毁',
  none: '无旧件',
} as const
export const CONTACT_KIND_LABELS = { mobile: '手机', landline: '座机/分机', wechat: '微信', email: '邮箱' } as const

/** TDesign tag themes per status: waiting amber, working blue, done green, ended grey. */
export function statusTheme(status: WorkOrderStatus): 'warning' | 'primary' | 'success' | 'default' | 'danger' {
  if (status === 'pending' || status === 'follow_up' || status === 'waiting_parts') return 'warning'
  if (status === 'rework') return 'danger'
  if (status === 'completed' || status === 'confirmed') return 'success'
  if (status === 'closed' || status === 'cancelled') return 'default'
  return 'primary'
}
export function urgencyTheme(urgency: WorkOrderRow['urgency']): 'default' | 'warning' | 'danger' {
  return urgency === 'downtime' ? 'danger' : urgency === 'urgent' ? 'warning' : 'default'
}

export const listWorkOrders = (query: ListQuery) => api.get<WorkOrderPage>('/work-orders', query)
export const workOrderQueue = () => api.get<Schema<'WorkOrderList'>>('/work-orders/queue')
export const getWorkOrder = (id: number) => api.get<WorkOrderDetail>(`/work-orders/${id}`)
export const getServiceReport = (id: number) => api.get<ServiceReport>(`/work-orders/${id}/report`)
/** 客户签字: who signed the report, where and when, with the signature's image link. */
export const listSignOffs = (id: number) =>
  api.get<Schema<'SignOffList'>>(`/work-orders/${id}/sign-offs`).then((answer) => answer.items)
export const getCandidates = (id: number) => api.get<Schema<'CandidateList'>>(`/work-orders/${id}/candidates`)

export function reportFault(body: ReportBody, photos: File[]) {
  const form = new FormData()
  form.append('data', JSON.stringify(body))
  photos.forEach((photo) => form.append('photos', photo))
  return api.upload<WorkOrderDetail>('/work-orders', form)
}

/** What a 报修 form has typed of the fault beyond its description. */
export interface FaultFields {
  fault_occurred_at: string
  fault_frequency: keyof typeof FREQUENCY_LABELS | ''
  error_message: string
  recent_changes: string
  expected_outcome: string
  expected_by: string
}

/** A picker's Beijing wall-clock time ("2026-12-05 08:30:00", or a phone's "2026-12-05T08:30") as
 * the API takes it: ISO 8601 with its offset, whatever the browser's own zone. */
function beijingMoment(value: string): string | undefined {
  return value ? `${value.replace(' ', 'T')}+08:00` : undefined
}

/** The fault fields of a 报修 body: the blanks left out (the PC's form and the phone's share it). */
export const faultDetails = (form: FaultFields) => ({
  fault_occurred_at: beijingMoment(form.fault_occurred_at),
  fault_frequency: form.fault_frequency || undefined,
  error_message: form.error_message || undefined,
  recent_changes: form.recent_changes || undefined,
  expected_outcome: form.expected_outcome || undefined,
  expected_by: beijingMoment(form.expected_by),
})

/** 报修 as JSON under the draft's Idempotency-Key: sent again after a lost answer, the server
 * answers the order the first send made (the photos follow, one call each: addPhoto). */
export const reportOnce = (body: ReportBody, key: string) =>
  request<WorkOrderDetail>('POST', '/work-orders', { body, headers: { 'Idempotency-Key': key } })

/** One step of the SOP (accept, depart, follow_up …, as `actions` names them; the path spells
 * follow_up as follow-up): the answer is the order as it now stands. */
export const takeStep = (id: number, step: string, body: Record<string, unknown> = {}) =>
  api.post<WorkOrderDetail>(`/work-orders/${id}/${step.replace(/_/g, '-')}`, body)

export const addPart = (id: number, body: JsonBody<'/api/v1/work-orders/{work_order_id}/parts', 'post'>) =>
  api.post<Part>(`/work-orders/${id}/parts`, body)
export const removePart = (id: number, partId: number) => api.delete<void>(`/work-orders/${id}/parts/${partId}`)
export function addPhoto(id: number, file: File) {
  const form = new FormData()
  form.append('file', file)
  return api.upload<Photo>(`/work-orders/${id}/photos`, form)
}
/** A photo opened in the browser (the cookie authenticates the GET). */
export const photoUrl = (photo: Photo) => `${photo.url}?inline=1`

export type Certificate = Schema<'Certificate'>
/** 上传计量证书: the fields as form fields and, when chosen, the document (else it is kept). */
export function attachCertificate(id: number, fields: Record<string, string>, file: File | null) {
  const form = new FormData()
  for (const [name, value] of Object.entries(fields)) if (value) form.append(name, value)
  if (file) form.append('file', file)
  return api.upload<Certificate>(`/work-orders/${id}/certificate`, form)
}

export const workOrderStats = (query: StatsQuery) => api.get<WorkOrderStats>('/work-orders/stats', query)
export const statsWorkbookUrl = (query: StatsQuery) => apiUrl('/work-orders/stats.xlsx', query)
