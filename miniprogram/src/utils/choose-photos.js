// Photos from the camera or the album (wx.chooseMedia, compressed by WeChat): resolves with their
// temp file paths, or [] when the user cancels.
function choosePhotos(count) {
  return new Promise((resolve) => {
    wx.chooseMedia({
      count,
      mediaType: ['image'],
      sourceType: ['camera', 'album'],
      sizeType: ['compressed'],
      success: (res) => resolve(res.tempFiles.map((file) => file.tempFilePath)),
      fail: () => resolve([]),
    })
  })
}

module.exports = { choosePhotos }
