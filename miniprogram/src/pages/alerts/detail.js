// 预警详情: where an alert push opens (WECHAT_ALERT_PAGE, `?id=` the alert plan): the path never
// moves. Handling it (已处理 with a note) comes with the manager's pages.
const alerts = require('../../services/alerts.js')
const signIn = require('../../utils/sign-in.js')

const ROUTE = 'pages/alerts/detail'

Component({
  data: { loading: true, error: '', plan: null },
  methods: {
    async onLoad(query) {
      this.query = query || {}
      try {
        if (!(await signIn.requireBound(signIn.pageUrl(ROUTE, this.query)))) return
        const plan = await alerts.get(this.query.id || '')
        this.setData({ loading: false, plan })
      } catch (error) {
        this.setData({ loading: false, error: error.message })
      }
    },
  },
})
