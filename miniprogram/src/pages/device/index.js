// 设备卡片: what a scan opens. 小程序码 stickers and scanned links print this page's path
// (WECHAT_DEVICE_PAGE): it never moves. It is opened with one of
//   q     — a sticker's link (PUBLIC_BASE_URL/d/<token>), URL-encoded by WeChat;
//   scene — a 小程序码's scene (d=<token>), URL-encoded;
//   code  — a 唯一码 typed on the home page;
//   id    — a device id (from an order).
// The server decides what was scanned and whether the caller may see it (GET /scan).
const devices = require('../../services/devices.js')
const signIn = require('../../utils/sign-in.js')

const ROUTE = 'pages/device/index'

function scanned(query) {
  const raw = query.q || query.scene || query.code
  return raw ? decodeURIComponent(raw) : ''
}

Component({
  data: { loading: true, error: '', device: null },
  methods: {
    async onLoad(query) {
      this.query = query || {}
      const user = await this.signedIn()
      if (user) this.load()
    },
    onShow() {
      if (this.data.device) this.load() // back from an order: its status may have moved
    },
    async signedIn() {
      try {
        return await signIn.requireBound(signIn.pageUrl(ROUTE, this.query))
      } catch (error) {
        this.setData({ loading: false, error: error.message })
        return null
      }
    },
    async load() {
      const { id } = this.query
      const raw = scanned(this.query)
      if (!id && !raw) {
        this.setData({ loading: false, error: '没有设备信息，请重新扫码' })
        return
      }
      try {
        const device = id ? await devices.get(id) : await devices.scan(raw)
        wx.setNavigationBarTitle({ title: device.name })
        this.setData({ loading: false, error: '', device })
      } catch (error) {
        const message = (error.fields && error.fields.q) || error.message
        this.setData({ loading: false, error: message, device: null })
      }
    },
    openOrder(event) {
      wx.navigateTo({ url: `/pages/work-orders/detail?id=${event.currentTarget.dataset.id}` })
    },
  },
})
