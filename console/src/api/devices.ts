// 设备档案: the list and its filters, the form (with the certificates of its tabs, 方法二), the
// detail's tabs, the export and label links, and the import (synchronous, or a job above 2,000 rows).
import { api, apiUrl, type JsonBody, type QueryOf, type Schema } from './client'

export type DeviceRow = Schema<'DeviceRow'>
export type DevicePage = Schema<'DevicePage'>
export type Device = Schema<'Device'>
export type DeviceBody = JsonBody<'/api/v1/devices', 'post'>
export type DeviceEdit = JsonBody<'/api/v1/devices/{device_id}', 'patch'>
export type DeviceCredentialBody = NonNullable<DeviceBody['credentials']>[number]
export type DeviceQuery = QueryOf<'/api/v1/devices', 'get'>
export type ArchiveStatus = Device['archive_status']
export type Credential = Schema<'Credential'>
export type Authorization = Schema<'Authorization'>
export type WorkOrderRow = Schema<'WorkOrderRow'>
export type Department = Schema<'DepartmentRow'>
export type DeviceType = Schema<'DeviceType'>
export type ImportResult = Schema<'ImportResult'>
export type ImportJob = Schema<'ImportJob'>
export type CredentialKind = 'operation_certificate' | 'configuration_license'

export const ARCHIVE_STATUS_LABELS: Record<ArchiveStatus, string> = {
  in_archive: '在档',
  suspended: '停用',
  scrapped: '报废',
}

export const listDevices = (query: DeviceQuery, signal?: AbortSignal) => api.get<DevicePage>('/devices', query, signal)
export const getDevice = (id: number) => api.get<Device>(`/devices/${id}`)
export const createDevice = (body: DeviceBody) => api.post<Device>('/devices', body)
export const updateDevice = (id: number, body: DeviceEdit) => api.patch<Device>(`/devices/${id}`, body)

export const listDepartments = () => api.get<Schema<'DepartmentRows'>>('/departments')
export const listDeviceTypes = () => api.get<Schema<'DeviceTypeList'>>('/device-types')

export const deviceAuthorizations = (id: number) =>
  api.get<Schema<'AuthorizationList'>>(`/devices/${id}/authorizations`)
export const deviceCredentials = (id: number, kind: CredentialKind) =>
  api.get<Schema<'CredentialList'>>(`/devices/${id}/credentials`, { kind })
export const deviceWorkOrders = (id: number, page: number, perPage: number) =>
  api.get<Schema<'WorkOrderPage'>>('/work-orders', { device_id: id, page, per_page: perPage })

/** 导出Excel with the list's filters (the cookie signs the download in). */
export const exportUrl = (query: DeviceQuery) => {
  const { page: _page, per_page: _perPage, ...filters } = query as Record<string, string | number | undefined>
  return apiUrl('/devices/export.xlsx', filters)
}
export const labelsUrl = (ids: number[]) => apiUrl('/devices/labels', { ids: ids.join(',') })
export const importTemplateUrl = () => apiUrl('/devices/import-template.xlsx')
export const attachmentUrl = (url: string) => (url.includes('?') ? `${url}&inline=1` : `${url}?inline=1`)

/** 200 with the counts, or 202 with the job to follow (more than 2,000 rows). */
export async function importDevices(file: File, mode: 'create' | 'update'): Promise<ImportResult | ImportJob> {
  const form = new FormData()
  form.append('file', file)
  form.append('mode', mode)
  return api.upload<ImportResult | ImportJob>('/devices/import', form)
}
export const importProgress = (id: string) => api.get<ImportJob>(`/imports/${id}`)

// 附件: a device's manuals, contracts and acceptance papers (PDF, JPG or PNG, 10 MB each).
export type DeviceAttachment = Schema<'DeviceAttachment'>
export type AttachmentCategory = DeviceAttachment['category']
export const ATTACHMENT_CATEGORY_LABELS: Record<AttachmentCategory, string> = {
  manual: '说明书',
  contract: '合同',
  acceptance: '验收资料',
  other: '其他',
}
export const deviceAttachments = (id: number) => api.get<Schema<'DeviceAttachmentList'>>(`/devices/${id}/attachments`)
export function uploadDeviceAttachment(
  id: number,
  file: File,
  fields: { category: AttachmentCategory; title?: string; note?: string },
) {
  const form = new FormData()
  form.append('file', file)
  form.append('category', fields.category)
  if (fields.title) form.append('title', fields.title)
  if (fields.note) form.append('note', fields.note)
  return api.upload<DeviceAttachment>(`/devices/${id}/attachments`, form)
}
export const deleteDeviceAttachment = (id: number, attachmentId: number) =>
  api.delete<void>(`/devices/${id}/attachments/${attachmentId}`)

// 转科 and the 转科记录 tab.
export type DeviceTransfer = Schema<'DeviceTransfer'>
export type TransferBody = JsonBody<'/api/v1/devices/{device_id}/transfers', 'post'>
export const deviceTransfers = (id: number) => api.get<Schema<'DeviceTransferList'>>(`/devices/${id}/transfers`)
export const transferDevice = (id: number, body: TransferBody) =>
  api.post<Schema<'DeviceTransferDone'>>(`/devices/${id}/transfers`, body)

/** A device's 维修 / 保养 / 计量 records (计量 ones filed from a certificate carry its fields). */
export const listDeviceRecords = (deviceId: number, kind: 'repair' | 'maintenance' | 'metrology') =>
  api.get<Schema<'RecordList'>>(`/devices/${deviceId}/records/${kind}`)
