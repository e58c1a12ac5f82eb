// 派工 of one order: what was reported (设备, 科室, 故障, 紧急程度, 报修时间), who holds it, and,
// while the server lists `assign` for this admin, the vendor's engineers with their open orders
// (skilled in the device's type first): pick one → 派工, or 改派 when someone holds it, after a
// confirmation. The answer (the order as it now stands) and the engineers' new load are shown.
const workOrders = require('../../../../services/work-orders.js')
const dispatch = require('../../services/dispatch.js')
const boundPage = require('../../../../utils/bound-page.js')
const { confirm } = require('../../utils/confirm.js')

Component({
  behaviors: [boundPage],
  data: { order: null, can: {}, candidates: [], chosen: null, busy: false, stepError: '', done: '' },
  methods: {
    async fetch() {
      return this.shown(await workOrders.get(this.query.id || ''))
    },
    /** The order, its actions as flags, and its candidates when it may be handed out. */
    async shown(order) {
      const can = {}
      for (const name of order.actions || []) can[name] = true
      wx.setNavigationBarTitle({ title: order.number })
      const candidates = can.assign ? (await dispatch.candidates(order.id)).items : []
      const chosen = candidates.find((candidate) => this.data.chosen && candidate.user_id === this.data.chosen.user_id)
      return { order, can, candidates, chosen: chosen || null }
    },
    choose(event) {
      const id = Number(event.currentTarget.dataset.id)
      const order = this.data.order
      if (order.assignee && order.assignee.id === id) return // already theirs
      this.setData({ chosen: this.data.candidates.find((candidate) => candidate.user_id === id), stepError: '' })
    },
    async assign() {
      const { order, chosen } = this.data
      if (this.data.busy) return
      if (!chosen) {
        this.setData({ stepError: '请先选择工程师' })
        return
      }
      const verb = order.assignee ? '改派' : '派工'
      const from = order.assignee ? `（原负责：${order.assignee.name}）` : ''
      if (
        !(await confirm(`确认${verb}`, `将工单 ${order.number} ${verb}给 ${chosen.name}${from}？工程师须接单。`, verb))
      )
        return
      this.setData({ busy: true, stepError: '', done: '' })
      try {
        const shown = await this.shown(await dispatch.assign(order.id, chosen.user_id))
        this.setData({ ...shown, chosen: null, done: `已${verb}给 ${chosen.name}，等待其接单` })
        wx.showToast({ title: `已${verb}`, icon: 'success' })
      } catch (error) {
        this.setData({ stepError: Object.values(error.fields || {}).join('；') || error.message })
      } finally {
        this.setData({ busy: false })
      }
    },
  },
})
