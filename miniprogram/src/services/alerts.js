// 预警 (/mp/v1/alerts…): the alert plans the caller may see.
const request = require('./request.js')

module.exports = {
  /** {items, total, page, per_page}; by default the ones waiting (预警中, 到期未处理). */
  list: (params) => request.get('/alerts', { params }),
  get: (id) => request.get(`/alerts/${encodeURIComponent(id)}`),
}
