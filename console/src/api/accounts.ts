// 账号管理: the organisation's accounts (console_api/staff_views.py), its 科室 and 设备类型
// (console_api/department_views.py), and an engineer's 擅长设备类型.
import { api, type JsonBody, type QueryOf, type Schema } from './client'

export type StaffMember = Schema<'StaffMember'>
export type StaffDetail = Schema<'StaffDetail'>
export type StaffPage = Schema<'StaffPage'>
export type CodeDelivery = Schema<'CodeDelivery'>
export type Deactivation = Schema<'Deactivation'>
export type WeChatBinding = Schema<'WeChatBinding'>
export type StaffQuery = QueryOf<'/api/v1/staff', 'get'>
export type NewStaff = JsonBody<'/api/v1/staff', 'post'>
export type StaffChanges = JsonBody<'/api/v1/staff/{user_id}', 'patch'>

export const listStaff = (query: StaffQuery = {}) => api.get<StaffPage>('/staff', query)
export const createStaff = (body: NewStaff) => api.post<Schema<'StaffCreated'>>('/staff', body)
export const staffDetail = (id: number) => api.get<StaffDetail>(`/staff/${id}`)
export const editStaff = (id: number, body: StaffChanges) => api.patch<StaffMember>(`/staff/${id}`, body)
export const deactivateStaff = (id: number) => api.post<Deactivation>(`/staff/${id}/deactivate`)
export const reactivateStaff = (id: number) => api.post<StaffMember>(`/staff/${id}/reactivate`)
export const sendAccountCode = (id: number) => api.post<CodeDelivery>(`/staff/${id}/account-code`)
export const removeBinding = (id: number, kind: WeChatBinding['kind']) =>
  api.delete<Schema<'WeChatBindingList'>>(`/staff/${id}/wechat-bindings/${kind}`)
export const setSkills = (id: number, categories: string[]) =>
  api.put<Schema<'Skills'>>(`/engineers/${id}/skills`, { categories })

export type DepartmentRow = Schema<'DepartmentRow'>
export const listDepartments = () => api.get<Schema<'DepartmentRows'>>('/departments')
export const createDepartment = (name: string) => api.post<DepartmentRow>('/departments', { name })
export const renameDepartment = (id: number, name: string) => api.patch<DepartmentRow>(`/departments/${id}`, { name })
export const reorderDepartments = (ids: number[]) =>
  api.put<Schema<'DepartmentRows'>>('/departments/order', { department_ids: ids })
export const deactivateDepartment = (id: number) => api.post<DepartmentRow>(`/departments/${id}/deactivate`)
export const reactivateDepartment = (id: number) => api.post<DepartmentRow>(`/departments/${id}/reactivate`)

export type DeviceType = Schema<'DeviceType'>
export const listDeviceTypes = () => api.get<Schema<'DeviceTypeList'>>('/device-types')
export const createDeviceType = (name: string) => api.post<DeviceType>('/device-types', { name })
export const renameDeviceType = (id: number, name: string) => api.patch<DeviceType>(`/device-types/${id}`, { name })
export const reorderDeviceTypes = (ids: number[]) =>
  api.put<Schema<'DeviceTypeList'>>('/device-types/order', { device_type_ids: ids })
export const mergeDeviceType = (id: number, intoId: number) =>
  api.post<DeviceType>(`/device-types/${id}/merge`, { into_id: intoId })
export const deleteDeviceType = (id: number) => api.delete<void>(`/device-types/${id}`)
export const setDeviceTypeChecklist = (id: number, checklist: Schema<'ChecklistItem'>[]) =>
  api.put<DeviceType>(`/device-types/${id}/checklist`, { checklist })
