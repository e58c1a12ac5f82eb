// 设备科: the alerts waiting (GET /alerts, the earliest due first); a tap opens the alert page a
// push would. 已处理 with a note, the inbox and the orders needing the office come with the
// manager's pages.
const alerts = require('../../../../services/alerts.js')
const signIn = require('../../../../utils/sign-in.js')

const ROUTE = 'packages/manager/pages/alerts/index'

Component({
  data: { loading: true, error: '', plans: [] },
  methods: {
    async onLoad(query) {
      try {
        if (!(await signIn.requireBound(signIn.pageUrl(ROUTE, query || {})))) return
        const answer = await alerts.list()
        this.setData({ loading: false, plans: answer.items })
      } catch (error) {
        this.setData({ loading: false, error: error.message })
      }
    },
    open(event) {
      wx.navigateTo({ url: `/pages/alerts/detail?id=${event.currentTarget.dataset.id}` })
    },
  },
})
