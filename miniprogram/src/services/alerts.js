// 预警 (/mp/v1/alerts…): the alert plans the caller may see, and 已处理.
const request = require('./request.js')

module.exports = {
  /** {items, total, page, per_page}; params.phase: warning (预警中), overdue (到期未处理), …;
   * without status or phase, the plans still reminding. */
  list: (params) => request.get('/alerts', { params }),
  get: (id) => request.get(`/alerts/${encodeURIComponent(id)}`),
  /** 已处理 with a note (optional): no one is reminded any more. Answers the plan. */
  handle: (id, note) => request.post(`/alerts/${encodeURIComponent(id)}/handle`, note ? { note } : {}),
}
