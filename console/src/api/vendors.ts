// 服务商: the hospital's directory search and invitations; a vendor admin's invitations, the
// institutions it serves and its own profile.
import { api, type JsonBody, type Schema } from './client'

export type Vendor = Schema<'Vendor'>
export type Invitation = Schema<'Invitation'>
export type InvitationStatus = Invitation['status']
export type InviteBody = JsonBody<'/api/v1/invitations', 'post'>
export type ServedInstitution = Schema<'ServedInstitution'>

export const searchDirectory = (q: string) => api.get<Schema<'VendorList'>>('/vendor-directory', { q })
export const listInvitations = (status?: InvitationStatus | '') =>
  api.get<Schema<'InvitationList'>>('/invitations', { status })
export const invite = (body: InviteBody) => api.post<Schema<'InvitationSent'>>('/invitations', body)
export const revokeInvitation = (id: number) => api.post<Invitation>(`/invitations/${id}/revoke`)
export const resendActivation = (id: number) =>
  api.post<Schema<'AccountCodeDelivery'>>(`/invitations/${id}/resend-activation`)
export const acceptInvitation = (id: number) => api.post<Invitation>(`/invitations/${id}/accept`)
export const declineInvitation = (id: number) => api.post<Invitation>(`/invitations/${id}/decline`)
export const vendorProfile = () => api.get<Vendor>('/vendor-profile')
export const setCreditCode = (credit_code: string) => api.put<Vendor>('/vendor-profile/credit-code', { credit_code })
export const servedInstitutions = () => api.get<Schema<'ServedInstitutionList'>>('/served-institutions')

export const INVITATION_STATUS_OPTIONS: { value: InvitationStatus | ''; label: string }[] = [
  { value: '', label: '全部' },
  { value: 'pending', label: '待接受' },
  { value: 'accepted', label: '已接受' },
  { value: 'declined', label: '已拒绝' },
  { value: 'revoked', label: '已撤销' },
]
