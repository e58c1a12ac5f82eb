// 预警详情: where an alert push opens (WECHAT_ALERT_PAGE, `?id=` the alert plan): the path never
// moves. What is expiring (its subject), where the plan stands (预警中, 到期未处理, 已处理), the
// expiry day and how far it is; 已处理 with a note only when the server says this person may
// (`can_handle`): after it nobody is reminded any more.
const alerts = require('../../services/alerts.js')
const boundPage = require('../../utils/bound-page.js')
const { dueText, shownTime } = require('../../utils/due.js')

Component({
  behaviors: [boundPage],
  data: { plan: null, due: '', handledAt: '', handling: false, note: '', fields: {}, busy: false, stepError: '' },
  methods: {
    async fetch() {
      return this.shown(await alerts.get(this.query.id || ''))
    },
    shown(plan) {
      return { plan, due: dueText(plan.due_on), handledAt: shownTime(plan.handled_at) }
    },
    startHandling() {
      this.setData({ handling: true, stepError: '' })
    },
    cancelHandling() {
      this.setData({ handling: false, note: '', fields: {}, stepError: '' })
    },
    onNote(event) {
      this.setData({ note: event.detail.value, 'fields.note': '' })
    },
    async handle() {
      if (this.data.busy) return
      this.setData({ busy: true, fields: {}, stepError: '' })
      try {
        const plan = await alerts.handle(this.data.plan.id, (this.data.note || '').trim())
        this.setData({ busy: false, handling: false, note: '', ...this.shown(plan) })
        wx.showToast({ title: '已处理，不再提醒', icon: 'none' })
      } catch (error) {
        const fields = error.fields || {}
        this.setData({ busy: false, fields, stepError: Object.keys(fields).length ? '' : error.message })
      }
    },
  },
})
