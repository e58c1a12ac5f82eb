// 登录与绑定 (/mp/v1/login, /me, /bind…): the session and the WeChat identity's binding.
const request = require('./request.js')

module.exports = {
  /** wx.login's code for our token: {token, expires_in, bound, user}. */
  login: (code) => request.post('/login', { code }, { auth: false }),
  me: () => request.get('/me'),
  bindByCode: (bindCode) => request.post('/bind', { bind_code: bindCode }),
  bindByPhone: (phoneCode) => request.post('/bind/phone', { phone_code: phoneCode }),
  /** {sent, message, phone (masked), expires_in, resend_in} */
  sendBindSms: (phone) => request.post('/bind/sms-code', { phone }),
  bindBySms: (phone, code) => request.post('/bind/sms', { phone, code }),
  /** The session goes on unbound, with a new token: {bound: false, user: null, token}. */
  unbind: () => request.post('/unbind', {}),
}
