// 委外关联: the 已委外 / 未委外设备 lists, 立即委外, 修改, 取消授权 and the 历史关联记录.
import { api, type JsonBody, type QueryOf, type Schema } from './client'

export type Authorization = Schema<'Authorization'>
export type AuthorizationEvent = Schema<'AuthorizationEvent'>
export type DeviceRow = Schema<'DeviceRow'>
export type Scope = Authorization['scopes'][number]
export type AuthorizeBody = JsonBody<'/api/v1/authorizations', 'post'>
export type TermsBody = JsonBody<'/api/v1/authorizations/{authorization_id}', 'put'>

/** 授权内容 in the guide's words and order. */
export const SCOPE_OPTIONS: { value: Scope; label: string; short: string }[] = [
  { value: 'archive', label: '查看设备档案资料', short: '档案资料' },
  { value: 'repair', label: '查看设备维修记录', short: '维修记录' },
  { value: 'maintenance', label: '查看设备保养记录', short: '保养记录' },
  { value: 'metrology', label: '查看设备计量记录', short: '计量记录' },
]
/** 过期预警's 提前天数 as the guide sets it. */
export const DEFAULT_WARN_DAYS = 15

export const listDevices = (query: QueryOf<'/api/v1/devices', 'get'>) =>
  api.get<Schema<'DevicePage'>>('/devices', query)
export const getDevice = (id: number) => api.get<Schema<'Device'>>(`/devices/${id}`)
export const listDepartments = () => api.get<Schema<'DepartmentRows'>>('/departments')
/** 选择委外服务商: only vendors that accepted this hospital's invitation may be authorized. */
export const acceptedVendors = async () =>
  (await api.get<Schema<'InvitationList'>>('/invitations', { status: 'accepted' })).items.map((i) => i.vendor)

export const authorize = (body: AuthorizeBody) => api.post<Schema<'AuthorizationList'>>('/authorizations', body)
export const modifyAuthorization = (id: number, body: TermsBody) =>
  api.put<Authorization>(`/authorizations/${id}`, body)
export const cancelAuthorization = (id: number, reason?: string) =>
  api.post<Authorization>(`/authorizations/${id}/cancel`, reason ? { reason } : {})
export const deviceAuthorizations = (deviceId: number) =>
  api.get<Schema<'AuthorizationList'>>(`/devices/${deviceId}/authorizations`)
export const authorizationEvents = (id: number) =>
  api.get<Schema<'AuthorizationEventList'>>(`/authorizations/${id}/events`)

/** The authorization still counts (in force or to come): it can be changed or cancelled. */
export const isCurrent = (a: Authorization) => a.state === 'active' || a.state === 'upcoming'

/**
 * Where 委外授权 for these devices happens (方法一 from the list, 方法二 from a device's page):
 * `/outsourcing/authorize?device_ids=12,13`. `edit` opens an authorization for 修改: its id, or
 * 'current' for the one device's authorization in force (the 已委外设备 row's 修改).
 */
export function authorizeLink(deviceIds: number[], edit?: number | 'current') {
  const query: Record<string, string> = { device_ids: deviceIds.join(',') }
  if (edit) query.edit = String(edit)
  return { path: '/outsourcing/authorize', query }
}
