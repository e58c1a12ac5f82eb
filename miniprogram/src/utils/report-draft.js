// 报修草稿: the form as typed so far, kept per device in the phone's storage until the order is
// created (a call, a lost signal or a closed page loses nothing). The draft carries the
// Idempotency-Key of its one order: a send whose answer was lost is sent again under the same key
// and the server answers the order it already made.
const PREFIX = 'weixiu.report-draft.'

function newKey() {
  const random = () => Math.random().toString(36).slice(2, 10).padEnd(8, '0')
  return `r-${Date.now().toString(36)}-${random()}${random()}`
}

/** The draft for `deviceId`, or a fresh one with `defaults` and a new key. */
function load(deviceId, defaults) {
  const saved = wx.getStorageSync(PREFIX + deviceId)
  if (saved && saved.key) return { ...saved, form: { ...defaults, ...saved.form } }
  return { key: newKey(), form: { ...defaults }, photos: [] }
}

function save(deviceId, draft) {
  wx.setStorage({ key: PREFIX + deviceId, data: draft })
}

function clear(deviceId) {
  wx.removeStorageSync(PREFIX + deviceId)
}

module.exports = { load, save, clear, newKey }
