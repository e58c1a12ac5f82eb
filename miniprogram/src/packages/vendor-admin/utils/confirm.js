// A confirmation before a step that tells someone else (派工, an answer to a hospital): WeChat's
// own dialog; resolves true when the user confirms.
function confirm(title, content, confirmText) {
  return new Promise((resolve) => {
    wx.showModal({
      title,
      content,
      confirmText: confirmText || '确定',
      success: (result) => resolve(Boolean(result.confirm)),
      fail: () => resolve(false),
    })
  })
}

module.exports = { confirm }
