// Photos an order still waits for: what failed to upload after the 报修 (the signal dropped, the
// server was busy), kept per order in storage so the order page offers to send them again.
const PREFIX = 'weixiu.pending-photos.'

function of(orderId) {
  return wx.getStorageSync(PREFIX + orderId) || []
}

function keep(orderId, filePaths) {
  if (filePaths.length) wx.setStorageSync(PREFIX + orderId, filePaths)
  else wx.removeStorageSync(PREFIX + orderId)
}

module.exports = { of, keep }
