// 服务商管理员的派工: the vendor's open orders in two tabs, 待派工 (nobody holds them yet) and 进行中
// (an engineer assigned or on it, with who), emergencies first (GET /work-orders/dispatch); a row
// opens the order's dispatch page. Above them, the hospitals' invitations still waiting for an
// answer. Back on the page (from 派工, say) both are read again.
const dispatch = require('../../services/dispatch.js')
const invitations = require('../../services/invitations.js')
const boundPage = require('../../../../utils/bound-page.js')

const PER_PAGE = 100
const TABS = [
  { value: 'pending', label: '待派工' },
  { value: 'assigned', label: '进行中' },
]

Component({
  behaviors: [boundPage],
  data: { tab: 'pending', tabs: TABS, orders: { pending: [], assigned: [] }, totals: {}, invitationsPending: 0 },
  methods: {
    async fetch() {
      const [pending, assigned, waiting] = await Promise.all([
        dispatch.board(false, PER_PAGE),
        dispatch.board(true, PER_PAGE),
        invitations.list('pending'),
      ])
      return {
        orders: { pending: pending.items, assigned: assigned.items },
        totals: { pending: pending.total, assigned: assigned.total },
        invitationsPending: waiting.items.length,
      }
    },
    onTab(event) {
      this.setData({ tab: event.currentTarget.dataset.value })
    },
    open(event) {
      wx.navigateTo({ url: `/packages/vendor-admin/pages/order/index?id=${event.currentTarget.dataset.id}` })
    },
    openInvitations() {
      wx.navigateTo({ url: '/packages/vendor-admin/pages/invitations/index' })
    },
  },
})
