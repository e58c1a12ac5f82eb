// 消息: my messages, the unread first (GET /inbox?unread=true, then the latest). A tap marks the
// message read (POST /inbox/<id>/read) and opens what it is about: its work order
// (pages/work-orders/detail) or its alert (pages/alerts/detail, where 已处理 is).
const inbox = require('../../../../services/inbox.js')
const boundPage = require('../../../../utils/bound-page.js')
const { shownTime } = require('../../../../utils/due.js')

const SHOWN = 50

/** The page a message links to, or '' when it names neither an order nor an alert. */
function linkOf(message) {
  if (message.work_order_id) return `/pages/work-orders/detail?id=${message.work_order_id}`
  if (message.alert_plan_id) return `/pages/alerts/detail?id=${message.alert_plan_id}`
  return ''
}

Component({
  behaviors: [boundPage],
  data: { unreadMessages: [], readMessages: [], unread: 0, times: {}, busy: false, stepError: '' },
  methods: {
    async fetch() {
      const [unread, latest] = await Promise.all([
        inbox.list({ unread: true, per_page: SHOWN }),
        inbox.list({ per_page: SHOWN }),
      ])
      const times = {}
      unread.items.concat(latest.items).forEach((message) => {
        times[message.id] = shownTime(message.created_at)
      })
      return {
        unreadMessages: unread.items,
        readMessages: latest.items.filter((message) => message.read),
        unread: latest.unread,
        times,
      }
    },
    async open(event) {
      const { id, read } = event.currentTarget.dataset
      const messages = read ? this.data.readMessages : this.data.unreadMessages
      const message = messages.find((item) => item.id === id)
      if (!message || this.data.busy) return
      const link = linkOf(message)
      if (!read) {
        this.setData({ busy: true, stepError: '' })
        try {
          await inbox.read(id)
        } catch (error) {
          this.setData({ busy: false, stepError: error.message })
          return
        }
        this.setData({ busy: false })
        if (!link) await this.refresh(false) // nowhere to go: show it among the read ones
      }
      if (link) wx.navigateTo({ url: link }) // back here, onShow reads the messages again
    },
  },
})
