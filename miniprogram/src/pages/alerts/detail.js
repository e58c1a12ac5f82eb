// 预警详情: where an alert push opens (WECHAT_ALERT_PAGE, `?id=` the alert plan): the path never
// moves. Handling it (已处理 with a note) comes with the manager's pages.
const alerts = require('../../services/alerts.js')
const boundPage = require('../../utils/bound-page.js')

Component({
  behaviors: [boundPage],
  data: { plan: null },
  methods: {
    async fetch() {
      return { plan: await alerts.get(this.query.id || '') }
    },
  },
})
