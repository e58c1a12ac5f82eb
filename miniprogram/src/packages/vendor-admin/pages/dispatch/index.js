// 服务商管理员: the orders waiting to be accepted or dispatched (status=pending). Assigning,
// reassigning and the invitations come with the vendor admin's pages.
const workOrders = require('../../../../services/work-orders.js')
const boundPage = require('../../../../utils/bound-page.js')

Component({
  behaviors: [boundPage],
  data: { orders: [] },
  methods: {
    async fetch() {
      return { orders: (await workOrders.list({ status: 'pending' })).items }
    },
  },
})
