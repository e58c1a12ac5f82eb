// 激活账号 / 重置密码: the 8-character code the office's SMS (or the office itself) gave, and a
// password of one's own; the code proves whose account it is, so this WeChat is bound to it at
// once. 忘记密码 asks for a reset code to the registered mobile first (the answer never says
// whether the number is registered). Then to where the person was going, or home.
const account = require('../../services/account.js')
const signIn = require('../../utils/sign-in.js')
const fieldErrors = require('../../utils/field-errors.js')

const HOME = '/pages/index/index'
const BESIDE_FIELDS = ['code', 'password', 'confirm', 'phone']

function shown(error) {
  return fieldErrors.shown(error, BESIDE_FIELDS)
}

Component({
  data: {
    resetMode: false,
    phone: '',
    code: '',
    password: '',
    confirm: '',
    sentMessage: '',
    busy: false,
    error: '',
    fields: {},
  },
  methods: {
    async onLoad(query) {
      this.next = query.next ? decodeURIComponent(query.next) : ''
      this.setData({ resetMode: query.mode === 'reset', code: query.code || '' })
      try {
        await signIn.current() // the code is redeemed on a session of this WeChat
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
    onInput(event) {
      this.setData({ [event.currentTarget.dataset.field]: event.detail.value })
    },
    useReset() {
      this.setData({ resetMode: true, error: '', fields: {} })
    },
    useActivation() {
      this.setData({ resetMode: false, sentMessage: '', error: '', fields: {} })
    },
    async requestReset() {
      this.setData({ busy: true, error: '', fields: {} })
      try {
        const answer = await account.requestReset(this.data.phone.trim())
        this.setData({ sentMessage: answer.phone ? `${answer.message}（${answer.phone}）` : answer.message })
      } catch (error) {
        this.setData(shown(error))
      } finally {
        this.setData({ busy: false })
      }
    },
    async redeem() {
      const { code, password, confirm } = this.data
      if (password !== confirm) {
        this.setData({ error: '', fields: { confirm: '两次输入的密码不一致' } })
        return
      }
      this.setData({ busy: true, error: '', fields: {} })
      try {
        const answer = await account.redeemCode(code.trim(), password)
        signIn.remember(answer)
        wx.showToast({ title: answer.message, icon: 'success' })
        if (this.next) wx.redirectTo({ url: this.next })
        else wx.reLaunch({ url: HOME })
      } catch (error) {
        this.setData(shown(error))
      } finally {
        this.setData({ busy: false })
      }
    },
  },
})
