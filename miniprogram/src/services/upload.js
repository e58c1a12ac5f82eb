// Photos: one file per wx.uploadFile call (the multipart field `file`), with our bearer token (an
// upload cannot go through wx.request), at most 3 at a time, each reporting its progress. A failed
// photo is answered as failed, not thrown, so the page can offer to retry it.
const request = require('./request.js')

const PARALLEL = 3

/** One file (the multipart field `file`, beside `formData`) to an API path: resolves with the
 * answer's body, rejects with an ApiError. onProgress(percent) follows the upload. */
function uploadFile(path, filePath, formData, onProgress) {
  return new Promise((resolve, reject) => {
    const task = wx.uploadFile({
      url: request.url(path),
      filePath,
      name: 'file',
      formData,
      header: { Authorization: `Bearer ${request.token()}` },
      success(res) {
        let body = res.data
        try {
          body = JSON.parse(res.data)
        } catch {
          // not JSON: a proxy's page; errorOf says the status
        }
        if (res.statusCode >= 200 && res.statusCode < 300) resolve(body)
        else reject(request.errorOf(res.statusCode, body))
      },
      fail() {
        reject(new request.ApiError(0, 'network', request.NETWORK_ERROR))
      },
    })
    if (task && onProgress) task.onProgressUpdate((update) => onProgress(update.progress))
  })
}

/** One photo to an order: resolves with the server's photo ({id, url, …}). */
function uploadPhoto(orderId, filePath, onProgress) {
  return uploadFile(`/work-orders/${encodeURIComponent(orderId)}/photos`, filePath, undefined, onProgress)
}

/** 客户签字: the signature PNG and the signer's name; resolves with the sign-off record. */
function uploadSignOff(orderId, filePath, signerName) {
  return uploadFile(`/work-orders/${encodeURIComponent(orderId)}/sign-offs`, filePath, { signer_name: signerName })
}

/** 计量证书: the document (PDF or photo) with its fields as formData; without a file (correcting the
 * fields of one uploaded) the fields go as a form post. Resolves with the certificate. */
function uploadCertificate(orderId, filePath, fields) {
  const path = `/work-orders/${encodeURIComponent(orderId)}/certificate`
  if (filePath) return uploadFile(path, filePath, fields)
  const encoded = Object.entries(fields)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join('&')
  return request.request('POST', path, {
    data: encoded,
    header: { 'Content-Type': 'application/x-www-form-urlencoded' },
  })
}

/** Several photos, at most 3 in flight: [{filePath, photo} or {filePath, error}] in their order.
 * onProgress(index, percent) for each. */
async function uploadPhotos(orderId, filePaths, onProgress) {
  const results = new Array(filePaths.length)
  let next = 0
  async function worker() {
    while (next < filePaths.length) {
      const index = next
      next += 1
      const filePath = filePaths[index]
      try {
        const photo = await uploadPhoto(orderId, filePath, (percent) => onProgress && onProgress(index, percent))
        results[index] = { filePath, photo }
      } catch (error) {
        results[index] = { filePath, error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(PARALLEL, filePaths.length) }, worker))
  return results
}

module.exports = { uploadCertificate, uploadPhoto, uploadPhotos, uploadSignOff, PARALLEL }
