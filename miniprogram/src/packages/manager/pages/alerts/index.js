// 设备科: the alerts waiting (GET /alerts, the earliest due first); a tap opens the alert page a
// push would. 已处理 with a note, the inbox and the orders needing the office come with the
// manager's pages.
const alerts = require('../../../../services/alerts.js')
const boundPage = require('../../../../utils/bound-page.js')

Component({
  behaviors: [boundPage],
  data: { plans: [] },
  methods: {
    async fetch() {
      return { plans: (await alerts.list()).items }
    },
    open(event) {
      wx.navigateTo({ url: `/pages/alerts/detail?id=${event.currentTarget.dataset.id}` })
    },
  },
})
