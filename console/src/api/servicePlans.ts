// 保养计划 / 计量计划: a device's plans, the 计划管理 list, bulk creation for a 设备类型 or 科室,
// and the Excel import (one plan a row, all or nothing).
import { api, apiUrl, type JsonBody, type QueryOf, type Schema } from './client'

export type ServicePlan = Schema<'ServicePlan'>
export type ServicePlanPage = Schema<'ServicePlanPage'>
export type ServicePlanBulk = Schema<'ServicePlanBulk'>
export type PlanKind = 'maintenance' | 'metrology'
export type PlanBody = JsonBody<'/api/v1/devices/{device_id}/service-plans/{kind}', 'post'>
export type PlanEdit = JsonBody<'/api/v1/service-plans/{plan_id}', 'patch'>
export type BulkBody = JsonBody<'/api/v1/service-plans/bulk', 'post'>
export type PlanQuery = QueryOf<'/api/v1/service-plans', 'get'>
export type PickedUser = Schema<'PickedUser'>

export const PLAN_KIND_LABELS: Record<PlanKind, string> = { maintenance: '保养计划', metrology: '计量计划' }
export const PLAN_STATUS_THEMES: Record<string, 'success' | 'danger' | 'default'> = {
  active: 'success',
  overdue: 'danger',
  ended: 'default',
}

export const listPlans = (query: PlanQuery, signal?: AbortSignal) =>
  api.get<ServicePlanPage>('/service-plans', query, signal)
export const getPlan = (id: number) => api.get<ServicePlan>(`/service-plans/${id}`)
export const createPlan = (deviceId: number, kind: PlanKind, body: PlanBody) =>
  api.post<ServicePlan>(`/devices/${deviceId}/service-plans/${kind}`, body)
export const updatePlan = (id: number, body: PlanEdit) => api.patch<ServicePlan>(`/service-plans/${id}`, body)
export const endPlan = (id: number, reason?: string) =>
  api.post<ServicePlan>(`/service-plans/${id}/end`, reason ? { reason } : {})
export const bulkCreatePlans = (body: BulkBody) => api.post<ServicePlanBulk>('/service-plans/bulk', body)
export const departmentPeople = (departmentId: number) =>
  api.get<Schema<'PickedUserPage'>>('/users', { department_id: departmentId, per_page: 100 })

export const planTemplateUrl = () => apiUrl('/service-plans/import-template.xlsx')
export async function importPlans(file: File): Promise<Schema<'ServicePlanImport'>> {
  const form = new FormData()
  form.append('file', file)
  return api.upload<Schema<'ServicePlanImport'>>('/service-plans/import', form)
}
