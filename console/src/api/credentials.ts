import { api, type JsonBody, type QueryOf, type Schema } from './client'

export type Credential = Schema<'Credential'>
export type CredentialRow = Schema<'CredentialRow'>
export type CredentialPage = Schema<'CredentialPage'>
export type Attachment = Schema<'Attachment'>
export type CredentialBody = JsonBody<'/api/v1/credentials', 'post'>
export type CredentialKind = CredentialBody['kind']
/** A device as the 选择设备 dialog and the 已选择设备 table show it. */
export interface ChosenDevice {
  id: number
  name: string
  unique_code: string
  category?: string | null
  department?: string | null
  model?: string | null
  unit?: string | null
}

/** The three lists of 证照管理: the URL's word, the API's kind, and the guide's names. */
export const KINDS = {
  license: { kind: 'configuration_license', label: '配置许可证', menu: '设备配置许可证管理', order: 30 },
  operation: { kind: 'operation_certificate', label: '设备操作证', menu: '设备操作证管理', order: 31 },
  qualification: { kind: 'staff_qualification', label: '人员资质', menu: '人员资质管理', order: 32 },
} as const satisfies Record<string, { kind: CredentialKind; label: string; menu: string; order: number }>
export type KindSlug = keyof typeof KINDS
export const KIND_SLUGS = Object.keys(KINDS) as KindSlug[]

export function slugOf(kind: string): KindSlug {
  return KIND_SLUGS.find((slug) => KINDS[slug].kind === kind) ?? 'operation'
}

/** The 基础设置 of each kind, as the guides list them: a 设备操作证 names its holder and the large
 *  devices they may operate; a 配置许可证 is the device's (no person); 人员资质 is a person's. */
export const KIND_FIELDS: Record<
  CredentialKind,
  { attachment: string; holder: boolean; operableDevices: boolean; issuedOn: string }
> = {
  operation_certificate: { attachment: '操作证', holder: true, operableDevices: true, issuedOn: '签发日期' },
  configuration_license: { attachment: '配置许可证', holder: false, operableDevices: false, issuedOn: '生效日期' },
  staff_qualification: { attachment: '人员资质', holder: true, operableDevices: false, issuedOn: '签发日期' },
}

/** Attachments the server takes: JPG, PNG or PDF of at most 10 MB. */
export const ATTACHMENT_TYPES = ['image/jpeg', 'image/png', 'application/pdf']
export const MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
/** Why the server would refuse this file (checked before sending), or null. */
export function refusedFile(file: File): string | null {
  if (!ATTACHMENT_TYPES.includes(file.type)) return `${file.name}：只能上传 JPG、PNG 或 PDF 文件`
  if (file.size > MAX_ATTACHMENT_BYTES) return `${file.name}：文件超过 10 MB`
  return null
}

export const listCredentials = (query: QueryOf<'/api/v1/credentials', 'get'>) =>
  api.get<CredentialPage>('/credentials', query)
export const getCredential = (id: number) => api.get<Credential>(`/credentials/${id}`)
export const createCredential = (body: CredentialBody) => api.post<Credential>('/credentials', body)
export const updateCredential = (id: number, body: JsonBody<'/api/v1/credentials/{credential_id}', 'put'>) =>
  api.put<Credential>(`/credentials/${id}`, body)
export const deleteCredential = (id: number) => api.delete<void>(`/credentials/${id}`)
export function uploadAttachment(credentialId: number, file: File) {
  const form = new FormData()
  form.append('file', file)
  return api.upload<Attachment>(`/credentials/${credentialId}/attachments`, form)
}
export const deleteAttachment = (credentialId: number, attachmentId: number) =>
  api.delete<void>(`/credentials/${credentialId}/attachments/${attachmentId}`)
