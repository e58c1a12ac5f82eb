// 设备卡片: what a scan opens. 小程序码 stickers and scanned links print this page's path
// (WECHAT_DEVICE_PAGE): it never moves. It is opened with one of
//   q     — a sticker's link (PUBLIC_BASE_URL/d/<token>), URL-encoded by WeChat;
//   scene — a 小程序码's scene (d=<token>), URL-encoded;
//   code  — a 唯一码 typed on the home page;
//   id    — a device id (from an order).
// The server decides what was scanned and whether the caller may see it (GET /scan).
const devices = require('../../services/devices.js')
const boundPage = require('../../utils/bound-page.js')

function scanned(query) {
  const raw = query.q || query.scene || query.code
  return raw ? decodeURIComponent(raw) : ''
}

Component({
  behaviors: [boundPage],
  data: { device: null },
  methods: {
    async fetch() {
      const { id } = this.query
      const raw = scanned(this.query)
      if (!id && !raw) throw new Error('没有设备信息，请重新扫码')
      const device = id ? await devices.get(id) : await devices.scan(raw)
      wx.setNavigationBarTitle({ title: device.name })
      return { device }
    },
    report() {
      wx.navigateTo({ url: `/pages/work-orders/new?device_id=${this.data.device.id}` })
    },
    openOrder(event) {
      wx.navigateTo({ url: `/pages/work-orders/detail?id=${event.currentTarget.dataset.id}` })
    },
  },
})
