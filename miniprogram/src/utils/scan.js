// 扫码: the camera (wx.scanCode) gives a sticker's link (PUBLIC_BASE_URL/d/<token>) or, for a
// 小程序码, the page path with its scene; both open the device card, which asks the server
// (GET /scan) what they name.
const DEVICE_PAGE = '/pages/device/index'

function scanCode() {
  return new Promise((resolve, reject) => {
    wx.scanCode({
      onlyFromCamera: false,
      scanType: ['qrCode', 'wxCode'],
      success: resolve,
      fail: reject,
    })
  })
}

/** The device page URL for a scan result, or null when the user cancelled. */
function deviceUrlFor(result) {
  if (result.path) return `/${result.path.replace(/^\//, '')}` // a 小程序码: its own page and scene
  return `${DEVICE_PAGE}?q=${encodeURIComponent(result.result)}`
}

function cancelled(error) {
  return /cancel/.test((error && error.errMsg) || '')
}

module.exports = { scanCode, deviceUrlFor, cancelled, DEVICE_PAGE }
