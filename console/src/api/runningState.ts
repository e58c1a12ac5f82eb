// 运行状态: a device's running state (apart from 在档状态), set by its last service report or by the
// equipment manager with a reason; 停用待修 shows as a red banner wherever the device is shown.
import { api, type JsonBody, type Schema } from './client'

export type RunningState = Schema<'Device'>['running_state']
export type RunningStatePeriod = Schema<'RunningStatePeriod'>
export type RunningStateBody = JsonBody<'/api/v1/devices/{device_id}/running-state', 'put'>

export const RUNNING_STATE_LABELS: Record<RunningState, string> = {
  normal: '正常运行',
  limited: '限制使用',
  out_of_service: '停用待修',
  scrap_suggested: '建议报废',
}
export const RUNNING_STATE_THEMES: Record<RunningState, 'success' | 'warning' | 'danger' | 'default'> = {
  normal: 'success',
  limited: 'warning',
  out_of_service: 'danger',
  scrap_suggested: 'default',
}
export const RUNNING_STATES = Object.keys(RUNNING_STATE_LABELS) as RunningState[]

export const setRunningState = (deviceId: number, body: RunningStateBody) =>
  api.put<Schema<'Device'>>(`/devices/${deviceId}/running-state`, body)
export const runningStatePeriods = (deviceId: number) =>
  api.get<Schema<'RunningStatePeriods'>>(`/devices/${deviceId}/running-state-periods`)
