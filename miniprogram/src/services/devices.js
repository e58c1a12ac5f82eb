// 设备卡片 (/mp/v1/scan, /devices/<id>): a device as the caller may see it, with its open orders.
const request = require('./request.js')

module.exports = {
  /** What was scanned or typed: a sticker link, a 小程序码 scene (d=…) or a 唯一码. */
  scan: (q) => request.get('/scan', { params: { q } }),
  get: (id) => request.get(`/devices/${encodeURIComponent(id)}`),
}
