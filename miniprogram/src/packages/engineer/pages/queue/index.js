// 工程师的待办: assigned to me or waiting for my side to accept, emergencies first
// (GET /work-orders/queue). 接单, 出发, 到场 and the other steps come with the engineer's pages.
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
