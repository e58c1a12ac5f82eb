// 派工 (/mp/v1/work-orders/dispatch, …/candidates, …/assign). Kept in the vendor admin's
// subpackage: only its pages use them.
const request = require('../../../services/request.js')

const order = (id, what) => `/work-orders/${encodeURIComponent(id)}/${what}`

module.exports = {
  /** {items, total, page, per_page}: open orders nobody holds (待派工), or held (`assigned`: 进行中),
   * emergencies first. */
  board: (assigned, perPage) => request.get('/work-orders/dispatch', { params: { assigned, per_page: perPage } }),
  /** {items}: the engineers who may take the order, with their open orders; skilled first. */
  candidates: (id) => request.get(order(id, 'candidates')),
  /** 派工 / 改派: answers the order as it now stands. */
  assign: (id, engineerId) => request.post(order(id, 'assign'), { engineer_id: engineerId }),
}
