// 个人设置: the signed-in person's own account (name, password, mobile, notices, WeChat, sessions).
import { api, type JsonBody, request, type Schema } from './client'

export type Me = Schema<'Me'>
export type Preferences = Schema<'NotificationPreferences'>
export type WeChatBinding = Schema<'WeChatBinding'>
export type BindCode = Schema<'BindCode'>

export const rename = (display_name: string) => api.patch<Me>('/me', { display_name })
export const changePassword = (body: JsonBody<'/api/v1/me/password', 'put'>) =>
  request<Schema<'PasswordChanged'>>('PUT', '/me/password', { body, renewsSession: true })
export const sendMobileCode = (phone: string) => api.post<Schema<'SmsSent'>>('/me/mobile/sms-code', { phone })
export const changeMobile = (body: JsonBody<'/api/v1/me/mobile', 'put'>) => api.put<Me>('/me/mobile', body)
export const fetchPreferences = () => api.get<Preferences>('/me/notification-preferences')
export const savePreferences = (body: JsonBody<'/api/v1/me/notification-preferences', 'put'>) =>
  api.put<Preferences>('/me/notification-preferences', body)
export const listBindings = () => api.get<Schema<'WeChatBindingList'>>('/me/wechat-bindings')
export const removeBinding = (kind: WeChatBinding['kind']) =>
  api.delete<Schema<'WeChatBindingList'>>(`/me/wechat-bindings/${kind}`)
export const issueBindCode = (userId: number, password: string) =>
  api.post<BindCode>(`/users/${userId}/bind-code`, { password })
export const signOutEverywhere = () => api.delete<Schema<'SignedOut'>>('/session/everywhere')
