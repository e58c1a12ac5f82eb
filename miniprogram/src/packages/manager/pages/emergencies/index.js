// 紧急待接单: 停机影响诊疗 and 紧急 orders nobody has accepted yet, the emergency path first, with
// how long each has waited since it was reported; a tap opens the order (pages/work-orders/detail).
const office = require('../../services/office.js')
const boundPage = require('../../../../utils/bound-page.js')
const { shownTime } = require('../../../../utils/due.js')

const MINUTE_MS = 60 * 1000

Component({
  behaviors: [boundPage],
  data: { orders: [], waited: {} },
  methods: {
    async fetch() {
      const orders = await office.emergenciesWaiting()
      const now = Date.now()
      const waited = {}
      orders.forEach((order) => {
        const minutes = Math.max(0, Math.floor((now - Date.parse(order.created_at)) / MINUTE_MS))
        waited[order.id] = `${shownTime(order.created_at)} 报修 · 已等待 ${minutes} 分钟`
      })
      return { orders, waited }
    },
    open(event) {
      wx.navigateTo({ url: `/pages/work-orders/detail?id=${event.currentTarget.dataset.id}` })
    },
  },
})
