// A list of work-order rows (the server's order_row shape); a tap opens the order's page.
Component({
  properties: {
    orders: { type: Array, value: [] },
    empty: { type: String, value: '暂无工单' },
  },
  methods: {
    open(event) {
      wx.navigateTo({ url: `/pages/work-orders/detail?id=${event.currentTarget.dataset.id}` })
    },
  },
})
