// 设备卡片 (/mp/v1/scan, /devices/<id>): a device as the caller may see it, with its open orders,
// and its 附件 (/devices/<id>/attachments: 说明书, 合同, 验收资料 …) to open on the phone.
const request = require('./request.js')

module.exports = {
  /** What was scanned or typed: a sticker link, a 小程序码 scene (d=…) or a 唯一码. */
  scan: (q) => request.get('/scan', { params: { q } }),
  get: (id) => request.get(`/devices/${encodeURIComponent(id)}`),
  attachments: (id) => request.get(`/devices/${encodeURIComponent(id)}/attachments`),
  /** One file into a temp file (its `url` from the list, signed in with our token). */
  download: (attachment) => request.download(attachment.url),
}
