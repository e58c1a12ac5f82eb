// 工单详情: where a work-order push opens (WECHAT_WORK_ORDER_PAGE, `?id=`): the path never moves,
// delivered messages keep it. The order, its photos (signed links: <image> sends no bearer
// header), its timeline kept live while the page is shown (read again every few seconds), and the
// steps the server lists for this caller (`actions`): for the reporter, 确认 or 退回返修 with a
// reason, then the rating with its sub-ratings; for the equipment manager, 回访 of an order rated
// poorly (its note required, the improvement optional); photos that failed after the 报修 are sent
// again from here. Each role's other steps come with the role's pages: an engineer who opens this path
// (the push to accept an order lands here) is sent on to the engineer's order page.
const request = require('../../services/request.js')
const workOrders = require('../../services/work-orders.js')
const upload = require('../../services/upload.js')
const boundPage = require('../../utils/bound-page.js')
const pendingPhotos = require('../../utils/pending-photos.js')
const sla = require('../../utils/sla.js')
const { choosePhotos } = require('../../utils/choose-photos.js')

const POLL_MS = 5000
const ENGINEER_PAGE = '/packages/engineer/pages/order/index'
// The signature canvas (its page lives with the engineer's, who takes most signatures).
const SIGN_PAGE = '/packages/engineer/pages/sign/index'

/** Whether `order` is `user`'s to work as an engineer: a vendor engineer always; an in-house
 * engineer (who may also report) when it is assigned to them or waits for them to accept. */
function worksAsEngineer(user, order) {
  if (!user) return false
  if (user.role === 'vendor_engineer') return true
  if (user.role !== 'institution_engineer') return false
  return (order.assignee && order.assignee.id === user.id) || order.actions.includes('accept')
}
const SCORES = [1, 2, 3, 4, 5]
const RATINGS = [
  { field: 'rating', label: '总体满意度' },
  { field: 'response', label: '响应速度' },
  { field: 'skill', label: '技术水平' },
  { field: 'attitude', label: '服务态度' },
]

Component({
  behaviors: [boundPage],
  data: {
    order: null,
    can: {},
    photoLinks: [],
    pending: [],
    reason: '',
    rating: {},
    comment: '',
    followUp: { note: '', improvement_action: '' },
    fields: {},
    busy: false,
    stepError: '',
    scores: SCORES,
    ratings: RATINGS,
    justReported: false,
    reportPurposes: ['work_order'],
  },
  methods: {
    async fetch() {
      const order = await workOrders.get(this.query.id || '')
      if (worksAsEngineer(this.user, order)) {
        wx.redirectTo({ url: `${ENGINEER_PAGE}?id=${order.id}` })
      }
      return this.shown(order)
    },
    /** What the page shows of `order`: its actions as flags, its photos' links, what still waits. */
    shown(order) {
      const can = {}
      order.actions.forEach((name) => {
        can[name] = true
      })
      return {
        order,
        can,
        photoLinks: order.photos.map((photo) => request.linkOf(photo.url)),
        slaRows: sla.rows(order.sla),
        pending: pendingPhotos.of(order.id),
        // Right after 报修, while the order is still open: the reporter may ask for its notices.
        justReported: this.query.created === '1' && order.status !== 'closed' && order.status !== 'cancelled',
      }
    },
    onShow() {
      if (this.fetched) this.refresh(false)
      this.stopPolling()
      this.timer = setInterval(() => this.poll(), POLL_MS)
    },
    onHide() {
      this.stopPolling()
    },
    onUnload() {
      this.stopPolling()
    },
    stopPolling() {
      if (this.timer) clearInterval(this.timer)
      this.timer = null
    },
    /** The live timeline: read the order again, quietly (a failed read waits for the next). */
    async poll() {
      if (this.data.busy || !this.fetched) return
      try {
        this.setData(this.shown(await workOrders.get(this.query.id)))
      } catch (error) {
        // offline for a moment: the page keeps what it shows
      }
    },
    /** One of the reporter's steps: the answer is the order as it now stands. */
    async step(call) {
      if (this.data.busy) return
      this.setData({ busy: true, fields: {}, stepError: '' })
      try {
        const order = await call()
        this.setData({ busy: false, reason: '', ...this.shown(order) })
        return true
      } catch (error) {
        const fields = error.fields || {}
        this.setData({ busy: false, fields, stepError: Object.keys(fields).length ? '' : error.message })
        return false
      }
    },
    goSign() {
      wx.navigateTo({ url: `${SIGN_PAGE}?id=${this.data.order.id}` })
    },
    async confirm() {
      if (await this.step(() => workOrders.confirm(this.data.order.id))) {
        wx.showToast({ title: '已确认维修完成', icon: 'none' })
      }
    },
    onReason(event) {
      this.setData({ reason: event.detail.value, 'fields.reason': '' })
    },
    async reject() {
      if (await this.step(() => workOrders.reject(this.data.order.id, { reason: this.data.reason }))) {
        wx.showToast({ title: '已退回返修', icon: 'none' })
      }
    },
    onScore(event) {
      const { field, score } = event.currentTarget.dataset
      this.setData({ [`rating.${field}`]: score, [`fields.${field}`]: '' })
    },
    onComment(event) {
      this.setData({ comment: event.detail.value })
    },
    async rate() {
      const body = { ...this.data.rating }
      if (this.data.comment.trim()) body.comment = this.data.comment
      if (await this.step(() => workOrders.rate(this.data.order.id, body))) {
        wx.showToast({ title: '感谢评价', icon: 'none' })
      }
    },
    onFollowUpInput(event) {
      const { field } = event.currentTarget.dataset
      this.setData({ [`followUp.${field}`]: event.detail.value, [`fields.${field}`]: '' })
    },
    /** 设备科回访: the server requires the note and archives the order. */
    async followUp() {
      const { note, improvement_action: improvement } = this.data.followUp
      const body = { note }
      if (improvement.trim()) body.improvement_action = improvement
      if (await this.step(() => workOrders.followUp(this.data.order.id, body))) {
        this.setData({ followUp: { note: '', improvement_action: '' } })
        wx.showToast({ title: '已回访，工单已归档', icon: 'none' })
      }
    },
    /** Send the photos that failed after the 报修 again; what fails again stays for later. */
    async retryPhotos() {
      await this.sendPhotos(this.data.pending)
    },
    async addPhotos() {
      const picked = await choosePhotos(9)
      if (picked.length) await this.sendPhotos(this.data.pending.concat(picked))
    },
    async sendPhotos(filePaths) {
      if (this.data.busy || !filePaths.length) return
      const id = this.data.order.id
      this.setData({ busy: true, stepError: '' })
      const results = await upload.uploadPhotos(id, filePaths)
      const failed = results.filter((result) => result.error)
      pendingPhotos.keep(
        id,
        failed.map((result) => result.filePath),
      )
      const first = failed.length ? failed[0].error : null
      const reason = first ? Object.values(first.fields)[0] || first.message : ''
      this.setData({ busy: false, stepError: first ? `${failed.length} 张照片上传失败：${reason}` : '' })
      try {
        this.setData(this.shown(await workOrders.get(id)))
      } catch (error) {
        this.setData({ stepError: error.message })
      }
    },
  },
})
