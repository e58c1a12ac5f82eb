// 工单 (/mp/v1/work-orders…).
const request = require('./request.js')

module.exports = {
  /** 工单详情, with the timeline and the caller's `actions`. */
  get: (id) => request.get(`/work-orders/${encodeURIComponent(id)}`),
  /** {items, total, page, per_page}; params: status, open, mine, device_id, … */
  list: (params) => request.get('/work-orders', { params }),
  /** The engineer's queue, emergencies first: {items}. */
  queue: () => request.get('/work-orders/queue'),
  /** 待我确认: completed orders waiting for my confirmation (as reporter or a plan's 科室联系人): {items}. */
  toConfirm: () => request.get('/work-orders/to-confirm'),
  /** The orders one plan sweep raised (the summary push's page): {kind, raised} → {items}. */
  planned: (params) => request.get('/work-orders/planned', { params }),
  /** 报修 (JSON). `key` is the draft's Idempotency-Key: a resend answers the same order. */
  create: (body, key) => request.post('/work-orders', body, { header: { 'Idempotency-Key': key } }),
  /** The reporter's steps: {note?}, {reason}, {rating, response, skill, attitude, comment}. */
  confirm: (id, body) => request.post(`/work-orders/${encodeURIComponent(id)}/confirm`, body || {}),
  reject: (id, body) => request.post(`/work-orders/${encodeURIComponent(id)}/reject`, body),
  rate: (id, body) => request.post(`/work-orders/${encodeURIComponent(id)}/rate`, body),
  /** 设备科回访 of a poorly rated order: {note, improvement_action?}; the order is archived. */
  followUp: (id, body) => request.post(`/work-orders/${encodeURIComponent(id)}/follow-up`, body),
}
