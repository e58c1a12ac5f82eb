// 绑定: the WeChat identity to a platform account, by the phone number WeChat verified
// (getPhoneNumber; paid per success, so its quota can run out: errno 1400001 falls back to the SMS
// code), by an SMS code, or by a bind code made on the PC. Then back where the user was going.
const sessions = require('../../services/session.js')
const signIn = require('../../utils/sign-in.js')
const fieldErrors = require('../../utils/field-errors.js')

const HOME = '/pages/index/index'
const NO_QUOTA = 1400001 // getPhoneNumber: the mini-program's quota is used up
const RESEND_SECONDS = 60
const BESIDE_FIELDS = ['phone', 'code', 'bind_code'] // the inputs that show their own error

function shown(error) {
  return fieldErrors.shown(error, BESIDE_FIELDS)
}

Component({
  data: {
    smsMode: false,
    smsReason: '',
    phone: '',
    smsCode: '',
    bindCode: '',
    sentMessage: '',
    sending: false,
    cooling: false,
    busy: false,
    error: '',
    fields: {},
  },
  lifetimes: {
    detached() {
      clearTimeout(this.coolTimer)
    },
  },
  methods: {
    async onLoad(query) {
      this.next = query.next ? decodeURIComponent(query.next) : ''
      try {
        const who = await signIn.current()
        if (who.bound) this.leave()
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
    leave() {
      if (this.next) wx.redirectTo({ url: this.next })
      else if (getCurrentPages().length > 1) wx.navigateBack()
      else wx.reLaunch({ url: HOME })
    },
    async bind(call) {
      this.setData({ busy: true, error: '', fields: {} })
      try {
        signIn.remember(await call())
        wx.showToast({ title: '绑定成功', icon: 'success' })
        this.leave()
      } catch (error) {
        this.setData(shown(error))
      } finally {
        this.setData({ busy: false })
      }
    },
    onPhoneNumber(event) {
      const detail = event.detail || {}
      if (detail.code) {
        this.bind(() => sessions.bindByPhone(detail.code))
      } else if (detail.errno === NO_QUOTA) {
        this.setData({ smsMode: true, smsReason: '微信手机号快速验证暂不可用，请用短信验证码绑定' })
      } else if (!/deny|cancel/.test(detail.errMsg || '')) {
        this.setData({ smsMode: true, smsReason: '未能获取微信手机号，请用短信验证码绑定' })
      }
    },
    useSms() {
      this.setData({ smsMode: true, smsReason: '' })
    },
    onPhoneInput(event) {
      this.setData({ phone: event.detail.value })
    },
    onSmsCodeInput(event) {
      this.setData({ smsCode: event.detail.value })
    },
    onBindCodeInput(event) {
      this.setData({ bindCode: event.detail.value })
    },
    async sendCode() {
      this.setData({ sending: true, error: '', fields: {} })
      try {
        const answer = await sessions.sendBindSms(this.data.phone)
        this.setData({ sentMessage: `${answer.message}（${answer.phone}）`, cooling: true })
        const seconds = answer.resend_in || RESEND_SECONDS
        this.coolTimer = setTimeout(() => this.setData({ cooling: false }), seconds * 1000)
      } catch (error) {
        this.setData(shown(error))
      } finally {
        this.setData({ sending: false })
      }
    },
    bindBySms() {
      this.bind(() => sessions.bindBySms(this.data.phone, this.data.smsCode))
    },
    bindByCode() {
      this.bind(() => sessions.bindByCode(this.data.bindCode))
    },
  },
})
