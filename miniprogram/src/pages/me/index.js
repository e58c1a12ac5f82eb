// 我的: who I am, WeChat notices (the subscribe popup, after a card that says why), which channels
// each kind of notice comes by (the inbox is always on), and 解除绑定.
const account = require('../../services/account.js')
const sessions = require('../../services/session.js')
const boundPage = require('../../utils/bound-page.js')
const signIn = require('../../utils/sign-in.js')

const HOME = '/pages/index/index'
const FAMILIES = [
  { key: 'work_order', label: '工单通知' },
  { key: 'alert', label: '预警提醒' },
]
const CHANNELS = [
  { key: 'wechat', label: '微信' },
  { key: 'sms', label: '短信' },
]
// Who gets which WeChat notices (the templates asked for in the subscribe popup): expiry alerts go
// to the equipment office and, for an authorization, to the vendor's admins.
const PURPOSES_BY_ROLE = {
  equipment_manager: ['work_order', 'alert'],
  vendor_admin: ['work_order', 'alert'],
}
const SUBSCRIBE_REASON =
  '工单被接单、工程师到场、维修完成和预警到期时，用微信消息通知你。每同意一次可收到一条；勾选“总是保持以上选择”后不再询问。'

/** 138****1234 */
function masked(phone) {
  return phone && phone.length === 11 ? `${phone.slice(0, 3)}****${phone.slice(7)}` : phone || '未登记'
}

Component({
  behaviors: [boundPage],
  data: {
    me: null,
    phone: '',
    purposes: [],
    subscribeReason: SUBSCRIBE_REASON,
    families: [],
    saving: '',
    busy: false,
  },
  methods: {
    async fetch() {
      const preferences = await account.preferences()
      return {
        me: this.user,
        phone: masked(this.user.phone),
        purposes: PURPOSES_BY_ROLE[this.user.role] || ['work_order'],
        families: this.rows(preferences),
      }
    },
    /** The switches: one row per family, one switch per channel, the inbox shown always on. */
    rows(preferences) {
      return FAMILIES.map((family) => ({
        ...family,
        channels: CHANNELS.map((channel) => ({ ...channel, on: Boolean(preferences[family.key][channel.key]) })),
      }))
    },
    async onSwitch(event) {
      const { family, channel } = event.currentTarget.dataset
      const on = Boolean(event.detail.value)
      this.setData({ saving: `${family}.${channel}` })
      try {
        const preferences = await account.setPreferences({ [family]: { [channel]: on } })
        this.setData({ families: this.rows(preferences) })
        wx.showToast({ title: on ? '已开启' : '已关闭', icon: 'none' })
      } catch (error) {
        // The switch shows what the server keeps, not what was tapped.
        this.setData({ families: this.data.families })
        wx.showToast({ title: error.message, icon: 'none' })
      } finally {
        this.setData({ saving: '' })
      }
    },
    onUnbind() {
      wx.showModal({
        title: '解除绑定',
        content: '解除后此微信不再收到工单和预警通知，也不能报修或接单，直到重新绑定。确定解除吗？',
        confirmText: '解除绑定',
        confirmColor: '#d54941',
        success: (answer) => {
          if (answer.confirm) this.unbind()
        },
      })
    },
    async unbind() {
      this.setData({ busy: true })
      try {
        signIn.remember(await sessions.unbind())
        wx.showToast({ title: '已解除绑定', icon: 'none' })
        wx.reLaunch({ url: HOME })
      } catch (error) {
        this.setData({ busy: false })
        wx.showToast({ title: error.message, icon: 'none' })
      }
    },
  },
})
