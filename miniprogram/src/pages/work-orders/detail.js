// 工单详情: where a work-order push opens (WECHAT_WORK_ORDER_PAGE, `?id=`): the path never moves,
// delivered messages keep it. This foundation shows the order and its timeline; each role's
// actions (the server's `actions`) come with the role's pages.
const workOrders = require('../../services/work-orders.js')
const signIn = require('../../utils/sign-in.js')

const ROUTE = 'pages/work-orders/detail'

Component({
  data: { loading: true, error: '', order: null },
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
    async load() {
      try {
        const order = await workOrders.get(this.query.id || '')
        this.setData({ loading: false, error: '', order })
      } catch (error) {
        this.setData({ loading: false, error: error.message })
      }
    },
  },
})
