// A list of work-order rows (the server's order_row shape); a tap opens the order's page.
Component({
  properties: {
    orders: { type: Array, value: [] },
    empty: { type: String, value: '暂无工单' },
    // The page a row opens (`?id=`): the shared detail, or a role's own (the engineer's).
    page: { type: String, value: '/pages/work-orders/detail' },
  },
  methods: {
    open(event) {
      wx.navigateTo({ url: `${this.data.page}?id=${event.currentTarget.dataset.id}` })
    },
  },
})
