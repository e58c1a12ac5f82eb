// A device's QR sticker opened in a phone's browser (/d/<token>): its public card, and what the
// signed-in person may do with it (its open orders they may see, whether they may report).
import { api, type Schema } from './client'

export type DeviceLink = Schema<'DeviceLink'>
export type DeviceLinkOrders = Schema<'DeviceLinkOrders'>

export const getDeviceLink = (token: string) => api.get<DeviceLink>(`/device-links/${encodeURIComponent(token)}`)
export const getDeviceLinkOrders = (token: string) =>
  api.get<DeviceLinkOrders>(`/device-links/${encodeURIComponent(token)}/orders`)
