// A multipart/form-data body as a phone's wx.uploadFile or a PC upload sends it: text fields, then
// one file part {filename, type, data (a Buffer)}.
function multipartBody(fields, name, file) {
  const boundary = `----weixiu${Date.now().toString(16)}${Math.random().toString(16).slice(2, 8)}`
  const parts = Object.entries(fields || {}).map(
    ([key, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${key}"\r\n\r\n${value}\r\n`,
  )
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${file.filename}"\r\nContent-Type: ${file.type}\r\n\r\n`
  const body = Buffer.concat([Buffer.from(parts.join('') + head), file.data, Buffer.from(`\r\n--${boundary}--\r\n`)])
  return { body, type: `multipart/form-data; boundary=${boundary}` }
}

module.exports = { multipartBody }
