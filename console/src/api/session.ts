import { api, type JsonBody, type Schema } from './client'

export type Me = Schema<'Me'>
export type Role = Me['role']

export const signIn = (username: string, password: string) =>
  api.post<Schema<'Session'>>('/session', { username, password })
export const redeemAccountCode = (body: JsonBody<'/api/v1/account-code', 'post'>) =>
  api.post<Schema<'CodeRedeemed'>>('/account-code', body)
export const requestPasswordReset = (body: JsonBody<'/api/v1/password-reset', 'post'>) =>
  api.post<Schema<'ResetRequested'>>('/password-reset', body)
/** 短信验证码登录 (the device page a sticker opens in a phone's browser). */
export const sendSignInCode = (phone: string) => api.post<Schema<'SignInCodeRequested'>>('/session/sms-code', { phone })
export const signInBySms = (phone: string, code: string) => api.post<Schema<'Session'>>('/session/sms', { phone, code })
export const signOut = () => api.delete<void>('/session')
export const fetchMe = () => api.get<Me>('/me')
