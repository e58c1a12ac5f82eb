import { api, type JsonBody, type Schema } from './client'

/** 本机构的设置 (the equipment manager's): 汇总提醒's threshold, 1–50. */
export type InstitutionSettings = Schema<'InstitutionSettings'>
export type InstitutionSettingsBody = JsonBody<'/api/v1/institution-settings', 'put'>

export const DIGEST_THRESHOLD = { min: 1, max: 50 } as const

export const getInstitutionSettings = () => api.get<InstitutionSettings>('/institution-settings')
export const updateInstitutionSettings = (body: InstitutionSettingsBody) =>
  api.put<InstitutionSettings>('/institution-settings', body)
