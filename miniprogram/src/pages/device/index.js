// 设备卡片: what a scan opens. 小程序码 stickers and scanned links print this page's path
// (WECHAT_DEVICE_PAGE): it never moves. It is opened with one of
//   q     — a sticker's link (PUBLIC_BASE_URL/d/<token>), URL-encoded by WeChat;
//   scene — a 小程序码's scene (d=<token>), URL-encoded;
//   code  — a 唯一码 typed on the home page;
//   id    — a device id (from an order).
// The server decides what was scanned and whether the caller may see it (GET /scan).
// Below the card: the device's 附件 (说明书, 合同 …), opened with wx.openDocument (PDF) or
// wx.previewImage (JPG, PNG) after a download with our token.
const devices = require('../../services/devices.js')
const boundPage = require('../../utils/bound-page.js')

/** The 附件 list; its failure is shown in its own section, the card still shows. */
async function attachmentsOf(deviceId) {
  try {
    return { attachments: (await devices.attachments(deviceId)).items, attachmentsError: '' }
  } catch (error) {
    return { attachments: [], attachmentsError: error.message }
  }
}

function scanned(query) {
  const raw = query.q || query.scene || query.code
  return raw ? decodeURIComponent(raw) : ''
}

Component({
  behaviors: [boundPage],
  data: { device: null, attachments: [], attachmentsError: '', opening: 0 },
  methods: {
    async fetch() {
      const { id } = this.query
      const raw = scanned(this.query)
      if (!id && !raw) throw new Error('没有设备信息，请重新扫码')
      const device = id ? await devices.get(id) : await devices.scan(raw)
      wx.setNavigationBarTitle({ title: device.name })
      return { device, ...(await attachmentsOf(device.id)) }
    },
    report() {
      wx.navigateTo({ url: `/pages/work-orders/new?device_id=${this.data.device.id}` })
    },
    async openAttachment(event) {
      const attachment = this.data.attachments.find((item) => item.id === event.currentTarget.dataset.id)
      if (!attachment || this.data.opening) return
      this.setData({ opening: attachment.id })
      try {
        const filePath = await devices.download(attachment)
        if (attachment.content_type === 'application/pdf') {
          await new Promise((resolve, reject) =>
            wx.openDocument({ filePath, fileType: 'pdf', showMenu: true, success: resolve, fail: reject }),
          )
        } else {
          wx.previewImage({ urls: [filePath], current: filePath })
        }
      } catch (error) {
        wx.showToast({ title: error.message || '打开失败，请稍后重试', icon: 'none' })
      } finally {
        this.setData({ opening: 0 })
      }
    },
    openOrder(event) {
      wx.navigateTo({ url: `/pages/work-orders/detail?id=${event.currentTarget.dataset.id}` })
    },
  },
})
