// 我的工单: the orders I reported, the open ones first (进行中) or those done (已完结); a tap opens
// the order. Back on the page the list is read again: an order may have moved meanwhile.
const workOrders = require('../../services/work-orders.js')
const boundPage = require('../../utils/bound-page.js')

const TABS = [
  { value: 'open', label: '进行中' },
  { value: 'done', label: '已完结' },
]
const DONE = 'confirmed,follow_up,closed,cancelled'

Component({
  behaviors: [boundPage],
  data: { tab: 'open', tabs: TABS, orders: [], total: 0 },
  methods: {
    async fetch() {
      const tab = this.data.tab
      const params = { mine: 'reported', per_page: 50, ...(tab === 'open' ? { open: true } : { status: DONE }) }
      const page = await workOrders.list(params)
      return { orders: page.items, total: page.total }
    },
    onTab(event) {
      this.setData({ tab: event.currentTarget.dataset.value })
      return this.refresh(false)
    },
  },
})
