// 服务商管理员：等待接单或派工的工单（status=pending）。派工、改派和邀请随服务商页面一起做。
const workOrders = require('../../../../services/work-orders.js')
const signIn = require('../../../../utils/sign-in.js')

const ROUTE = 'packages/vendor-admin/pages/dispatch/index'

Component({
  data: { loading: true, error: '', orders: [] },
  methods: {
    async onLoad(query) {
      this.query = query || {}
      try {
        if (!(await signIn.requireBound(signIn.pageUrl(ROUTE, this.query)))) return
        this.load()
      } catch (error) {
        this.setData({ loading: false, error: error.message })
      }
    },
    onShow() {
      if (!this.data.loading) this.load()
    },
    async load() {
      try {
        const answer = await workOrders.list({ status: 'pending' })
        this.setData({ loading: false, error: '', orders: answer.items })
      } catch (error) {
        this.setData({ loading: false, error: error.message })
      }
    },
  },
})
