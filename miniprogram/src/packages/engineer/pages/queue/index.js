// 工程师的待办：派给我的或等我方接单的，紧急的在前（GET /work-orders/queue）。接单、出发、到场等步骤随工程师页面一起做。
const workOrders = require('../../../../services/work-orders.js')
const signIn = require('../../../../utils/sign-in.js')

const ROUTE = 'packages/engineer/pages/queue/index'

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
        const answer = await workOrders.queue()
        this.setData({ loading: false, error: '', orders: answer.items })
      } catch (error) {
        this.setData({ loading: false, error: error.message })
      }
    },
  },
})
