// 工程师的待办: assigned to me or waiting for my side to accept, emergencies first
// (GET /work-orders/queue); a row opens the engineer's order page (pages/order).
const workOrders = require('../../../../services/work-orders.js')
const boundPage = require('../../../../utils/bound-page.js')

Component({
  behaviors: [boundPage],
  data: { orders: [] },
  methods: {
    async fetch() {
      return { orders: (await workOrders.queue()).items }
    },
  },
})
