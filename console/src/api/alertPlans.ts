import { api, type JsonBody, type QueryOf, type Schema } from './client'

export type AlertPlan = Schema<'AlertPlan'>
export type AlertRecord = Schema<'AlertRecord'>
export type AlertSettings = JsonBody<'/api/v1/alert-plans/{plan_id}', 'put'>
export type PickedUser = Schema<'PickedUser'>
export type Channel = AlertPlan['channels'][number]

export const CHANNELS: { value: Channel; label: string }[] = [
  { value: 'inbox', label: '电脑首页通知' },
  { value: 'sms', label: '短信通知' },
  { value: 'wechat', label: '微信通知' },
]

/** Where a plan stands (the server's phase: the same rule 首页 counts by). */
export const PLAN_PHASES: { value: AlertPlan['phase']; label: string }[] = [
  { value: 'warning', label: '预警中' },
  { value: 'overdue', label: '到期未处理' },
  { value: 'waiting', label: '未到预警期' },
  { value: 'handled', label: '已处理' },
  { value: 'cancelled', label: '已取消' },
]
export const PHASE_THEMES: Record<AlertPlan['phase'], 'primary' | 'warning' | 'danger' | 'success' | 'default'> = {
  waiting: 'primary',
  warning: 'warning',
  overdue: 'danger',
  handled: 'success',
  cancelled: 'default',
}

export const listAlertPlans = (query: QueryOf<'/api/v1/alert-plans', 'get'>) =>
  api.get<Schema<'AlertPlanPage'>>('/alert-plans', query)
export const getAlertPlan = (id: number) => api.get<AlertPlan>(`/alert-plans/${id}`)
export const updateAlertPlan = (id: number, body: AlertSettings) => api.put<AlertPlan>(`/alert-plans/${id}`, body)
export const handleAlertPlan = (id: number, note: string) =>
  api.post<AlertPlan>(`/alert-plans/${id}/handle`, note ? { note } : {})
export const listDeliveries = (id: number, query: QueryOf<'/api/v1/alert-plans/{plan_id}/deliveries', 'get'>) =>
  api.get<Schema<'AlertRecordPage'>>(`/alert-plans/${id}/deliveries`, query)
/** 指定人员 candidates (GET /users): the institution's active accounts. */
export const pickUsers = (query: QueryOf<'/api/v1/users', 'get'>) => api.get<Schema<'PickedUserPage'>>('/users', query)

export type TemplatePreview = Schema<'AlertTemplatePreview'>
export type PreviewBody = JsonBody<'/api/v1/alert-templates/preview', 'post'>
/** What the preview is of: a saved plan's id, or the subject fields a form holds. */
export type PreviewSubject = Omit<PreviewBody, 'template'>
/** 发送内容模板 as each channel would send it today (422 names an unknown placeholder). */
export const previewTemplate = (body: PreviewBody) => api.post<TemplatePreview>('/alert-templates/preview', body)
