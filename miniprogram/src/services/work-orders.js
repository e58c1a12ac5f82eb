// 工单 (/mp/v1/work-orders…).
const request = require('./request.js')

module.exports = {
  /** 工单详情, with the timeline and the caller's `actions`. */
  get: (id) => request.get(`/work-orders/${encodeURIComponent(id)}`),
  /** {items, total, page, per_page}; params: status, open, mine, device_id, … */
  list: (params) => request.get('/work-orders', { params }),
  /** The engineer's queue, emergencies first: {items}. */
  queue: () => request.get('/work-orders/queue'),
}
