// Every call to the server goes through here (scripts/check-package.mjs refuses wx.request
// anywhere else; the modules beside this one name the routes, one per resource): the base URL
// from config/env.js, our bearer token, and the server's Chinese error message
// ({"error": {"code", "message", "fields"}}) handed to the page as an ApiError.
const env = require('../config/env.js')

const TOKEN_KEY = 'weixiu.token'
const NETWORK_ERROR = '网络异常，请检查网络后重试'

class ApiError extends Error {
  constructor(status, code, message, fields) {
    super(message)
    this.status = status
    this.code = code
    this.fields = fields || {}
  }
}

function token() {
  return wx.getStorageSync(TOKEN_KEY) || ''
}

function setToken(value) {
  if (value) wx.setStorageSync(TOKEN_KEY, value)
  else wx.removeStorageSync(TOKEN_KEY)
}

function url(path) {
  return `${env.apiBaseUrl}/mp/v1${path}`
}

/** A link the server handed out (a photo's signed `/mp/v1/photo-links/…`) made absolute. */
function linkOf(serverPath) {
  return /^https?:/.test(serverPath) ? serverPath : `${env.apiBaseUrl}${serverPath}`
}

function query(params) {
  const parts = Object.keys(params || {})
    .filter((key) => params[key] !== undefined && params[key] !== null && params[key] !== '')
    .map((key) => `${encodeURIComponent(key)}=${encodeURIComponent(params[key])}`)
  return parts.length ? `?${parts.join('&')}` : ''
}

function errorOf(status, body) {
  const error = (body && body.error) || {}
  return new ApiError(status, error.code || 'http_error', error.message || `请求失败（${status}）`, error.fields)
}

/** One JSON call: resolves with the body of a 2xx answer, rejects with an ApiError. */
function request(method, path, { data, params, auth = true, header: extra } = {}) {
  return new Promise((resolve, reject) => {
    const header = { 'Content-Type': 'application/json', ...extra }
    if (auth && token()) header.Authorization = `Bearer ${token()}`
    wx.request({
      url: url(path) + query(params),
      method,
      data,
      header,
      success(res) {
        if (res.statusCode >= 200 && res.statusCode < 300) resolve(res.data)
        else reject(errorOf(res.statusCode, res.data))
      },
      fail() {
        reject(new ApiError(0, 'network', NETWORK_ERROR))
      },
    })
  })
}

/** A file from the server (a device's 附件) into a temp file, with our bearer token: resolves with
 * its tempFilePath, rejects with an ApiError. */
function download(serverPath) {
  return new Promise((resolve, reject) => {
    const header = token() ? { Authorization: `Bearer ${token()}` } : {}
    wx.downloadFile({
      url: linkOf(serverPath),
      header,
      success(res) {
        if (res.statusCode >= 200 && res.statusCode < 300) {
          resolve(res.tempFilePath)
          return
        }
        // The body is a file now, not JSON: say what the status means.
        const message = res.statusCode === 404 ? '附件不存在或已删除' : `下载失败（${res.statusCode}）`
        reject(new ApiError(res.statusCode, 'http_error', message))
      },
      fail() {
        reject(new ApiError(0, 'network', NETWORK_ERROR))
      },
    })
  })
}

module.exports = {
  ApiError,
  download,
  NETWORK_ERROR,
  errorOf,
  url,
  linkOf,
  request,
  token,
  setToken,
  get: (path, options) => request('GET', path, options),
  post: (path, data, options) => request('POST', path, { ...options, data }),
  put: (path, data, options) => request('PUT', path, { ...options, data }),
}
