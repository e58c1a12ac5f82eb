// The orders that need the equipment office, read through the shared list (GET /work-orders):
// 紧急待接单 (停机影响诊疗 and 紧急 orders nobody has accepted yet) and 待回访 (rated 2 or less).
// Kept in the manager's subpackage: only its pages read them.
const workOrders = require('../../../services/work-orders.js')

const MOST = 100 // the API's largest page: more than a hospital has waiting at once
const URGENCY_RANK = { downtime: 0, urgent: 1 }

/** Emergencies waiting to be accepted: 停机影响诊疗 first, then 紧急, the longest waiting first. */
async function emergenciesWaiting() {
  const pages = await Promise.all(
    Object.keys(URGENCY_RANK).map((urgency) => workOrders.list({ status: 'pending', urgency, per_page: MOST })),
  )
  const orders = pages.reduce((all, page) => all.concat(page.items), [])
  return orders.sort(
    (a, b) => URGENCY_RANK[a.urgency] - URGENCY_RANK[b.urgency] || Date.parse(a.created_at) - Date.parse(b.created_at),
  )
}

/** Orders rated poorly, waiting for the office's 回访: {items, total, …}, the newest first. */
function followUpsWaiting(perPage = MOST) {
  return workOrders.list({ status: 'follow_up', per_page: perPage })
}

module.exports = { emergenciesWaiting, followUpsWaiting }
