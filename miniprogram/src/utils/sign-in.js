// Sign-in: wx.login's code for our session (POST /login), kept in storage with who we are.
// A page that needs a bound account calls requireBound(its own URL): signed out, it signs in;
// not bound, it goes to the bind page, which comes back to that URL once bound.
const request = require('../services/request.js')
const sessions = require('../services/session.js')

const BIND_PAGE = '/pages/bind/index'
let me = null // {bound, user}, from /login or /me

function wxLogin() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) =>
        res.code ? resolve(res.code) : reject(new request.ApiError(0, 'login', '微信登录失败，请重试')),
      fail: () => reject(new request.ApiError(0, 'login', '微信登录失败，请重试')),
    })
  })
}

async function signIn() {
  const code = await wxLogin()
  const answer = await sessions.login(code)
  request.setToken(answer.token)
  me = { bound: answer.bound, user: answer.user }
  return me
}

/** Who we are: from this run, else /me with the stored token, else a new sign-in (also when the
 * stored token was revoked or expired: 401). */
async function current({ refresh = false } = {}) {
  if (me && !refresh) return me
  if (request.token()) {
    try {
      me = await sessions.me()
      return me
    } catch (error) {
      if (error.status !== 401) throw error
      request.setToken('')
    }
  }
  return signIn()
}

function remember(answer) {
  me = { bound: answer.bound, user: answer.user }
  if (answer.token) request.setToken(answer.token)
  return me
}

/** The signed-in user bound to a platform account, or null after sending the page to bind
 * (redirectTo: the bind page takes this page's place and comes back to `returnUrl`). */
async function requireBound(returnUrl) {
  const who = await current()
  if (who.bound) return who.user
  wx.redirectTo({ url: `${BIND_PAGE}?next=${encodeURIComponent(returnUrl)}` })
  return null
}

/** A page's own URL with its query, to come back to after binding. onLoad's values are as the
 * URL carried them (a sticker's `q` is still encoded), so they go back unchanged. */
function pageUrl(route, query) {
  const keys = Object.keys(query || {})
  const search = keys.map((key) => `${key}=${query[key]}`).join('&')
  return `/${route}${search ? `?${search}` : ''}`
}

function forget() {
  me = null
}

module.exports = { current, signIn, remember, requireBound, pageUrl, forget, BIND_PAGE }
