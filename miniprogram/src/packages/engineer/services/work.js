// The engineer's steps on an order (/mp/v1/work-orders/<id>/…): each answers the order as it now
// stands, with the caller's next `actions`. Kept in the engineer's subpackage: only its pages use them.
const request = require('../../../services/request.js')

const order = (id, step) => `/work-orders/${encodeURIComponent(id)}/${step}`

module.exports = {
  accept: (id) => request.post(order(id, 'accept'), {}),
  /** 预计到场: an ISO time (UTC). */
  // 出发 and its 预计到场 in one step: a refused 出发 leaves no ETA behind.
  depart: (id, eta) => request.post(order(id, 'depart'), eta ? { eta } : {}),
  /** 到场: what the camera read from the device's sticker (q), or why there was none (reason). */
  arrive: (id, { q, reason }) => request.post(order(id, 'arrive'), q ? { q } : { reason }),
  diagnose: (id, diagnosis) => request.post(order(id, 'diagnose'), { diagnosis }),
  /** {name, model, serial_number}: answers the part. */
  addPart: (id, part) => request.post(order(id, 'parts'), part),
  /** 服务报告: {diagnosis, work_done, test_result, test_passed, device_condition}. */
  complete: (id, report) => request.post(order(id, 'complete'), report),
  /** 待备件, with why: the completion clock stops. */
  waitParts: (id, reason) => request.post(order(id, 'wait-parts'), { reason }),
  /** 备件到货: back to the step the order was at. */
  partsArrived: (id) => request.post(order(id, 'parts-arrived'), {}),
  signOffs: (id) => request.get(order(id, 'sign-offs')),
  /** The device's 维修 records the caller may read (a vendor: within its authorization). */
  repairs: (deviceId) => request.get(`/devices/${encodeURIComponent(deviceId)}/records/repair`),
}
