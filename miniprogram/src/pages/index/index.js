// 首页 (start): wx.login → our session; who I am and what I can do, by role. The official
// account's menu opens this page (bot/menu.py): its path never moves.
const signIn = require('../../utils/sign-in.js')
const scan = require('../../utils/scan.js')

const REPORTERS = ['clinician', 'equipment_manager', 'institution_engineer']
const ENGINEERS = ['vendor_engineer', 'institution_engineer']

Component({
  data: { loading: true, error: '', bound: false, user: null, code: '' },
  methods: {
    onLoad() {
      this.load()
    },
    onShow() {
      if (!this.data.loading) this.load() // back from binding or unbinding
    },
    async load() {
      try {
        const who = await signIn.current()
        const role = who.user ? who.user.role : ''
        this.setData({
          loading: false,
          error: '',
          bound: who.bound,
          user: who.user,
          canReport: REPORTERS.includes(role),
          isEngineer: ENGINEERS.includes(role),
          isVendorAdmin: role === 'vendor_admin',
          isManager: role === 'equipment_manager',
        })
      } catch (error) {
        this.setData({ loading: false, error: error.message })
      }
    },
    goBind() {
      wx.navigateTo({ url: signIn.BIND_PAGE })
    },
    goActivate() {
      wx.navigateTo({ url: '/pages/activate/index' })
    },
    goMe() {
      wx.navigateTo({ url: '/pages/me/index' })
    },
    goMine() {
      wx.navigateTo({ url: '/pages/work-orders/mine' })
    },
    goQueue() {
      wx.navigateTo({ url: '/packages/engineer/pages/queue/index' })
    },
    goDispatch() {
      wx.navigateTo({ url: '/packages/vendor-admin/pages/dispatch/index' })
    },
    goAlerts() {
      wx.navigateTo({ url: '/packages/manager/pages/alerts/index' })
    },
    async onScan() {
      try {
        const result = await scan.scanCode()
        wx.navigateTo({ url: scan.deviceUrlFor(result) })
      } catch (error) {
        if (!scan.cancelled(error)) wx.showToast({ title: '扫码失败，请重试或输入唯一码', icon: 'none' })
      }
    },
    onCodeInput(event) {
      this.setData({ code: event.detail.value })
    },
    onCode() {
      const code = (this.data.code || '').trim()
      if (!code) {
        wx.showToast({ title: '请输入设备唯一码', icon: 'none' })
        return
      }
      wx.navigateTo({ url: `${scan.DEVICE_PAGE}?code=${encodeURIComponent(code)}` })
    },
  },
})
