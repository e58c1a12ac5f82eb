// 计划工单汇总: where the summary push "今日新增保养工单 N 张" opens (operations/service_plans/raising.py
// SUMMARY_PAGE, `?kind=&raised=`, the sweep's minute in Asia/Shanghai): the path never moves,
// delivered messages keep it. The orders that sweep raised which I may see, each as it now stands
// (those taken meanwhile say so); a row opens my role's order page, where the engineer accepts.
const workOrders = require('../../services/work-orders.js')
const boundPage = require('../../utils/bound-page.js')

const KIND_LABELS = { maintenance: '保养', metrology: '计量' }
const ORDER_PAGES = {
  vendor_engineer: '/packages/engineer/pages/order/index',
  institution_engineer: '/packages/engineer/pages/order/index',
  vendor_admin: '/packages/vendor-admin/pages/order/index',
}
const DETAIL_PAGE = '/pages/work-orders/detail'
const ENGINEERS = ['vendor_engineer', 'institution_engineer']

/** "今日" for today's sweep (Asia/Shanghai), else its date: `raised` is YYYYMMDDHHMM. */
function dayOf(raised) {
  const day = `${raised.slice(0, 4)}-${raised.slice(4, 6)}-${raised.slice(6, 8)}`
  const today = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10)
  return day === today ? '今日' : `${Number(raised.slice(4, 6))}月${Number(raised.slice(6, 8))}日`
}

Component({
  behaviors: [boundPage],
  data: { orders: [], heading: '', waiting: 0, orderPage: DETAIL_PAGE, isEngineer: false },
  methods: {
    async fetch() {
      const kind = this.query.kind || ''
      const raised = this.query.raised || ''
      const { items } = await workOrders.planned({ kind, raised })
      const role = this.user.role
      return {
        orders: items,
        heading: `${dayOf(raised)}新增${KIND_LABELS[kind] || ''}工单 ${items.length} 张`,
        waiting: items.filter((order) => order.status === 'pending').length,
        orderPage: ORDER_PAGES[role] || DETAIL_PAGE,
        isEngineer: ENGINEERS.includes(role),
      }
    },
    goQueue() {
      wx.navigateTo({ url: '/packages/engineer/pages/queue/index' })
    },
  },
})
