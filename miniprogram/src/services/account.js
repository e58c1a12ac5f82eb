// 我的账号 (/mp/v1/me…, /account-code, /password-reset): activation and reset codes, notification
// preferences.
const request = require('./request.js')

module.exports = {
  /** 激活码 / 重置码 + the new password: binds this WeChat; answers {bound, user, purpose, message}. */
  redeemCode: (code, password) => request.post('/account-code', { code, password }),
  /** 忘记密码: a reset code to the registered mobile; {message} (never says whether it is registered). */
  requestReset: (phone) => request.post('/password-reset', { phone }),
  /** {alert: {inbox, sms, wechat}, work_order: {…}} */
  preferences: () => request.get('/me/notification-preferences'),
  setPreferences: (wanted) => request.put('/me/notification-preferences', wanted),
}
