// 订阅消息: a card that says why we ask, and asks WeChat's popup for the templates of `purposes`
// when the user taps its button. WeChat shows the popup only from a tap's handler, before any
// await: the template ids are loaded when the card attaches, so the tap calls
// wx.requestSubscribeMessage at once. Each accept lets the server send one message of that
// template; the answer goes to the server (POST /subscriptions) and the card shows what counts now.
const subscriptions = require('../../services/subscriptions.js')

const PURPOSE_LABELS = { work_order: '工单进度通知', alert: '到期预警提醒' }
const MAX_TEMPLATES = 3 // WeChat's limit for one popup
const CANCELLED = 20004 // the user closed the popup, or turned subscribe messages off

Component({
  properties: {
    purposes: { type: Array, value: [] },
    reason: { type: String, value: '' },
  },
  data: { items: [], labels: PURPOSE_LABELS, asking: false, error: '' },
  lifetimes: {
    attached() {
      this.load()
    },
  },
  methods: {
    async load() {
      try {
        this.show(await subscriptions.list())
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
    show(answer) {
      const wanted = this.properties.purposes
      const items = answer.items.filter((item) => wanted.includes(item.purpose)).slice(0, MAX_TEMPLATES)
      this.setData({ items, error: '' })
    },
    ask() {
      const tmplIds = this.data.items.map((item) => item.template_id)
      if (!tmplIds.length || this.data.asking) return
      this.setData({ asking: true })
      wx.requestSubscribeMessage({
        tmplIds,
        success: (results) => this.report(results),
        fail: (failure) => {
          const cancelled = failure.errCode === CANCELLED || /cancel/.test(failure.errMsg || '')
          this.setData({ asking: false, error: cancelled ? '' : '未能打开订阅，请稍后再试' })
        },
      })
    },
    async report(results) {
      try {
        this.show(await subscriptions.report(results))
        const accepted = Object.keys(results).some((key) => results[key] === 'accept')
        wx.showToast({ title: accepted ? '已开启微信通知' : '未开启微信通知', icon: 'none' })
      } catch (error) {
        this.setData({ error: error.message })
      } finally {
        this.setData({ asking: false })
      }
    },
  },
})
