// 用户隐私保护指引: WeChat asks before a privacy API (getPhoneNumber, scanCode's camera,
// chooseMedia) runs for a user who has not agreed yet, through the handler registered here; the
// privacy-popup component on the page shows the agreement and answers with the user's choice.
let pendingResolve = null
const listeners = new Set()

function install() {
  if (typeof wx.onNeedPrivacyAuthorization !== 'function') return // base library < 2.32.3
  wx.onNeedPrivacyAuthorization((resolve, eventInfo) => {
    pendingResolve = resolve
    listeners.forEach((listener) => listener(eventInfo || {}))
  })
}

/** Call `listener` each time the agreement must be shown; returns the unsubscribe function. */
function watch(listener) {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

/** The user's answer to the popup: agree (with the agree button's id) or disagree. */
function answer(agreed, buttonId) {
  const resolve = pendingResolve
  pendingResolve = null
  if (!resolve) return
  resolve(agreed ? { buttonId, event: 'agree' } : { event: 'disagree' })
}

module.exports = { install, watch, answer }
