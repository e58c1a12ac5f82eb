// 工单详情: where a work-order push opens (WECHAT_WORK_ORDER_PAGE, `?id=`): the path never moves,
// delivered messages keep it. This foundation shows the order and its timeline; each role's
// actions (the server's `actions`) come with the role's pages.
const workOrders = require('../../services/work-orders.js')
const boundPage = require('../../utils/bound-page.js')

Component({
  behaviors: [boundPage],
  data: { order: null },
  methods: {
    async fetch() {
      return { order: await workOrders.get(this.query.id || '') }
    },
  },
})
