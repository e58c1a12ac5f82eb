// The privacy agreement, shown when WeChat asks for it (utils/privacy.js); a page that calls a
// privacy API holds one <privacy-popup/>.
const privacy = require('../../utils/privacy.js')

Component({
  data: { visible: false },
  lifetimes: {
    attached() {
      this.unwatch = privacy.watch(() => this.setData({ visible: true }))
    },
    detached() {
      if (this.unwatch) this.unwatch()
    },
  },
  methods: {
    openContract() {
      if (typeof wx.openPrivacyContract === 'function') wx.openPrivacyContract({})
    },
    onAgree() {
      this.setData({ visible: false })
      privacy.answer(true, 'agree-privacy')
    },
    onDisagree() {
      this.setData({ visible: false })
      privacy.answer(false)
    },
  },
})
