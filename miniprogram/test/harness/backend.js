// What the journeys ask the server and the simulators directly, to set a scene up and to check
// what the server recorded: the PC API as a demo account (bearer token), the SMS simulator's
// messages.
const http = require('http')
const env = require('./env.js')

const DEMO_PASSWORD = 'weixiu123' // operations/demo_data.py

function call(url, { method = 'GET', token, body, headers: extra } = {}) {
  return new Promise((resolve, reject) => {
    const headers = { Accept: 'application/json', ...extra }
    if (token) headers.Authorization = `Bearer ${token}`
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    const request = http.request(url, { method, headers }, (response) => {
      const chunks = []
      response.on('data', (chunk) => chunks.push(chunk))
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let data = text
        try {
          data = JSON.parse(text)
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: response.statusCode, data })
      })
    })
    request.on('error', reject)
    if (body !== undefined) request.write(JSON.stringify(body))
    request.end()
  })
}

async function ok(promise) {
  const response = await promise
  if (response.status >= 300) throw new Error(`HTTP ${response.status}: ${JSON.stringify(response.data)}`)
  return response.data
}

/** The PC API signed in as a demo account. */
async function pc(username) {
  const session = await ok(
    call(`${env.apiBaseUrl}/api/v1/session`, { method: 'POST', body: { username, password: DEMO_PASSWORD } }),
  )
  const at = (path) => `${env.apiBaseUrl}/api/v1${path}`
  return {
    user: session.user,
    get: (path) => ok(call(at(path), { token: session.token })),
    post: (path, body) => ok(call(at(path), { method: 'POST', token: session.token, body })),
    put: (path, body) => ok(call(at(path), { method: 'PUT', token: session.token, body })),
    delete: (path) => ok(call(at(path), { method: 'DELETE', token: session.token })),
  }
}

/** A demo device as the PC shows it (with `link_url`, what its sticker encodes). */
async function device(manager, uniqueCode) {
  const page = await manager.get(`/devices?q=${encodeURIComponent(uniqueCode)}`)
  const row = page.items.find((item) => item.unique_code === uniqueCode)
  if (!row) throw new Error(`no demo device ${uniqueCode}`)
  return manager.get(`/devices/${row.id}`)
}

const VERIFY_TEMPLATE = 'SMS_SIM_VERIFY' // simulators/local.py

/** The SMS the Aliyun simulator received for `phone` (of one template), newest first. */
async function smsTo(phone, templateCode) {
  const answer = await ok(call(`${env.smsSimulatorUrl}/_sim/messages?endpoint=SendSms`))
  return answer.messages.filter(
    (message) =>
      message.payload.PhoneNumbers === phone && (!templateCode || message.payload.TemplateCode === templateCode),
  )
}

/** The verification code in the newest verification SMS to `phone`. */
async function verificationCode(phone) {
  const [newest] = await smsTo(phone, VERIFY_TEMPLATE)
  if (!newest) throw new Error(`no SMS to ${phone}`)
  const params = newest.payload.TemplateParam
  return (typeof params === 'string' ? JSON.parse(params) : params).code
}

/** What the WeChat simulator recorded for `endpoint` (e.g. /sns/jscode2session), newest first. */
async function wechatCalls(endpoint) {
  const answer = await ok(call(`${env.wechatSimulatorUrl}/_sim/messages?endpoint=${encodeURIComponent(endpoint)}`))
  return answer.messages
}

/** A demo account's row in the PC staff list (its WeChat bindings among it). */
async function staffRow(manager, username) {
  const page = await manager.get(`/staff?q=${encodeURIComponent(username)}`)
  const row = page.items.find((item) => item.username === username)
  if (!row) throw new Error(`no staff ${username}`)
  return row
}

/** Poll `find` (a promise of a value or nothing) until it answers, or fail saying `what`: the
 * server's worker and scheduler act in their own time. */
async function eventually(find, what, timeoutMs = 45000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const found = await find()
    if (found) return found
    await new Promise((resolve) => setTimeout(resolve, 300))
  }
  throw new Error(`not seen in time: ${what}`)
}

module.exports = {
  VERIFY_TEMPLATE,
  eventually,
  pc,
  device,
  smsTo,
  verificationCode,
  wechatCalls,
  staffRow,
  call,
  DEMO_PASSWORD,
}
