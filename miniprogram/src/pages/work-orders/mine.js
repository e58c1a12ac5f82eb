// 我的工单: the orders I reported, or whose 科室联系人 I am on a 保养 / 计量 plan: 待我确认 (the
// engineer's service report waits for my confirmation, as reporter or contact), 进行中, 已完结; a
// tap opens the order. The page opens on 待我确认 while something waits there. Back on the page the
// list is read again: an order may have moved meanwhile.
const workOrders = require('../../services/work-orders.js')
const boundPage = require('../../utils/bound-page.js')

const TABS = [
  { value: 'confirm', label: '待我确认' },
  { value: 'open', label: '进行中' },
  { value: 'done', label: '已完结' },
]
const DONE = 'confirmed,follow_up,closed,cancelled'
const EMPTY = {
  confirm: '没有等你确认的工单',
  open: '没有进行中的工单，扫设备上的二维码即可报修',
  done: '还没有已完结的工单',
}

Component({
  behaviors: [boundPage],
  data: { tab: '', tabs: TABS, orders: [], total: 0, empty: '' },
  methods: {
    async fetch() {
      if (!this.data.tab) {
        // First open: 待我确认 when something waits there, else 进行中.
        const waiting = (await workOrders.toConfirm()).items
        const tab = waiting.length ? 'confirm' : 'open'
        if (tab === 'confirm') return this.listed(tab, waiting, waiting.length)
        this.setData({ tab })
      }
      const tab = this.data.tab
      if (tab === 'confirm') {
        const items = (await workOrders.toConfirm()).items
        return this.listed(tab, items, items.length)
      }
      const params = { mine: 'reported', per_page: 50, ...(tab === 'open' ? { open: true } : { status: DONE }) }
      const page = await workOrders.list(params)
      return this.listed(tab, page.items, page.total)
    },
    listed(tab, orders, total) {
      return { tab, orders, total, empty: EMPTY[tab] }
    },
    onTab(event) {
      this.setData({ tab: event.currentTarget.dataset.value })
      return this.refresh(false)
    },
  },
})
