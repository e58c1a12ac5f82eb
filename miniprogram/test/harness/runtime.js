// One phone running the mini-program under miniprogram-simulate, with what WeChat's runtime
// gives the pages and simulate does not:
//  - npm component paths (usingComponents "tdesign-miniprogram/button/button") resolved into the
//    built src/miniprogram_npm, as WeChat does; simulate alone skips them silently, and a missing
//    one fails the test here;
//  - App / getApp / getCurrentPages, and navigateTo / redirectTo / reLaunch / navigateBack as a
//    page stack that loads the page (written with Component()) and calls onLoad(query), onShow,
//    onHide and onUnload;
//  - a `wx` whose network is real: wx.request and wx.uploadFile go over HTTP to the app the test
//    run started (globalSetup), and only to its host (WeChat's 合法域名 rule); wx.login takes a
//    code from the WeChat simulator for this phone's openid; wx.scanCode answers what the test
//    queued (a sticker's real link); canvasToTempFilePath hands back a fixture PNG; the privacy
//    APIs ask the page's onNeedPrivacyAuthorization handler first, as WeChat does for a user who
//    has not agreed; wx.requestSubscribeMessage answers what the test queued (queueSubscribe), and
//    only from inside a tap's handler, before its first await, with 1–3 templates, as WeChat does.
// Interaction helpers (tap, input, getPhoneNumber) act on the rendered nodes, then wait for the
// requests they started (settle()).
// One phone is active at a time (the pages' modules and `wx` are global): launch() makes a phone
// the active one; to go back to another, launch it again: its storage, so its session, is kept,
// as when a person reopens the mini-program. A page of a phone that is not active calling wx fails.
const fs = require('fs')
const http = require('http')
const os = require('os')
const path = require('path')
const simulate = require('miniprogram-simulate')
const simulateUtils = require('miniprogram-simulate/src/utils')
const simulateWxss = require('miniprogram-simulate/src/wxss')
const exparser = require('miniprogram-exparser') // the instance simulate renders with
const env = require('./env.js')
const { multipartBody } = require('./multipart.js')

const SRC = path.resolve(__dirname, '..', '..', 'src')
const APP_JSON = JSON.parse(fs.readFileSync(path.join(SRC, 'app.json'), 'utf8'))
const MAX_STACK = 10 // WeChat's page stack limit
// What canvasToTempFilePath hands back: a signature drawn once (the stroke logic is unit-tested).
const CANVAS_PNG = path.resolve(__dirname, '..', 'fixtures', 'signature.png')
const SIMULATE_WX = global.wx // simulate's: system info, selector queries, animations, …
let active = null // the phone whose pages run now

// --- npm component paths ------------------------------------------------------------------------

function npmComponentPath(fromFile, spec) {
  const [name] = spec.split('/')
  for (let dir = path.dirname(fromFile); dir.startsWith(SRC); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'miniprogram_npm', name))) {
      const target = path.join(dir, 'miniprogram_npm', spec)
      const stem = fs.existsSync(`${target}.json`) ? target : path.join(target, 'index')
      if (!fs.existsSync(`${stem}.json`)) break
      return `/${path.relative(SRC, stem).split(path.sep).join('/')}` // absolute: from rootPath
    }
  }
  throw new Error(
    `${path.relative(SRC, fromFile)}: component ${spec} is not in src/miniprogram_npm ` +
      '(run `node scripts/build-npm.mjs`; is it pruned away or missing from package.json?)',
  )
}

const readJson = simulateUtils.readJson
simulateUtils.readJson = (file) => {
  const json = readJson(file)
  const using = json && json.usingComponents
  if (using) {
    for (const [tag, spec] of Object.entries(using)) {
      if (typeof spec === 'string' && !spec.startsWith('.') && !spec.startsWith('/')) {
        using[tag] = npmComponentPath(file, spec)
      }
    }
  }
  return json
}

function textOf(node) {
  if (node.$$) return node.$$.textContent
  const children = (node.shadowRoot ? node.shadowRoot.childNodes : node.childNodes) || []
  return children.map(textOf).join('')
}

// --- styles --------------------------------------------------------------------------------------
// jsdom lays nothing out, so WXSS changes nothing the journeys can see; simulate would compile
// every component's WXSS (TDesign's icon sheet is 110 KB) and add it to the document on each
// page load. What the pages look like is checked in WeChat's developer tool (README).
simulateWxss.compile = () => ''
simulateWxss.insert = () => {}

// --- running a component's JS once per phone ----------------------------------------------------
// simulate runs a component's file with require() and deletes it from require.cache to run it again
// on the next load; jest's module registry ignores that, so a page or TDesign component loaded a
// second time would not call Component() again. Keep each file's definition and register it again
// for later loads (a fresh phone resets the registry and this memory together).
const definitions = new Map()

function copyDefinition(options) {
  if (!options.relations) return { ...options }
  const relations = {}
  for (const [key, value] of Object.entries(options.relations)) relations[key] = { ...value }
  return { ...options, relations } // simulate rewrites relations in place
}

simulateUtils.runJs = (filePath) => {
  const register = global.Component
  let captured = null
  global.Component = (options) => {
    captured = copyDefinition(options)
    register(options)
  }
  try {
    require(filePath)
  } finally {
    global.Component = register
  }
  if (captured) definitions.set(filePath, captured)
  else if (definitions.has(filePath)) register(copyDefinition(definitions.get(filePath)))
  else throw new Error(`${path.relative(SRC, filePath)} did not call Component() (pages are written with Component())`)
}

/** A native component's own event (input, getphonenumber, …): as in WeChat it neither bubbles
 * nor crosses into the host page (simulate's dispatchEvent does both, so TDesign's re-triggered
 * event would reach the page twice). */
function emit(node, name, detail) {
  exparser.Event.dispatchEvent(
    node._exparserNode,
    exparser.Event.create(name, detail, { bubbles: false, composed: false }),
  )
}

// --- URLs ---------------------------------------------------------------------------------------

/** WeChat's onLoad query: split, not decoded (a sticker's `q` arrives still encoded). */
function parseQuery(search) {
  const query = {}
  for (const part of (search || '').split('&')) {
    if (!part) continue
    const at = part.indexOf('=')
    query[at < 0 ? part : part.slice(0, at)] = at < 0 ? '' : part.slice(at + 1)
  }
  return query
}

function allRoutes() {
  const subpackages = APP_JSON.subPackages || APP_JSON.subpackages || []
  return new Set([
    ...APP_JSON.pages,
    ...subpackages.flatMap((sub) => sub.pages.map((page) => `${sub.root.replace(/\/$/, '')}/${page}`)),
  ])
}

// --- HTTP ---------------------------------------------------------------------------------------

function send(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers }, (response) => {
      const chunks = []
      response.on('data', (chunk) => chunks.push(chunk))
      response.on('end', () => {
        resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) })
      })
    })
    request.on('error', reject)
    if (body !== undefined) request.write(body)
    request.end()
  })
}

function parsed(response) {
  const text = response.body.toString('utf8')
  try {
    return JSON.parse(text) // WeChat's dataType "json": parsed when it parses
  } catch {
    return text
  }
}

const FILE_TYPES = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg' }

function multipart(fields, name, filePath) {
  const type = FILE_TYPES[path.extname(filePath).toLowerCase()] || 'application/octet-stream'
  return multipartBody(fields, name, { filename: path.basename(filePath), type, data: fs.readFileSync(filePath) })
}

// --- the phone ----------------------------------------------------------------------------------

class MiniProgram {
  /** A phone with a WeChat user `openid` (a fresh one per test keeps tests apart). */
  constructor({ openid, privacyAgreed = false } = {}) {
    this.openid = openid || `o-jest-${Math.random().toString(36).slice(2, 12)}`
    this.privacyAgreed = privacyAgreed
    this.storage = new Map()
    this.stack = []
    this.pending = 0
    this.requests = [] // every wx.request / uploadFile: {method, url, status}
    this.toasts = []
    this.scans = []
    this.media = [] // what wx.chooseMedia answers next (queueMedia)
    this.uploadFailures = 0 // wx.uploadFile calls to fail as a dropped signal (failUploads)
    this.privacyHandler = null
    this.inTap = false // a tap's handler runs now (its synchronous part): a user gesture
    this.subscribeAnswers = [] // what the subscribe popup answers next (queueSubscribe)
    this.subscribeAsked = [] // the tmplIds of each popup shown
    this.privacyAsked = []
    this.errors = [] // failures of work started by a helper, thrown by the next settle()
    this.downloads = [] // every wx.downloadFile: {url, status, type, file}
    this.documents = [] // what wx.openDocument opened: {filePath, fileType}
    this.previews = [] // what wx.previewImage showed: {urls, current}
    this.uploading = 0 // wx.uploadFile calls in flight, and the most at once
    this.mostUploadsAtOnce = 0
    this.container = document.createElement('div')
    document.body.appendChild(this.container)
  }

  /** Start the mini-program (App(), onLaunch) and open `url` as WeChat would from a sticker, a
   * push or the menu; resolves once the page has settled. */
  async launch(url = `/${APP_JSON.pages[0]}`) {
    jest.resetModules() // a fresh JS context: the pages' modules keep no state across phones
    definitions.clear()
    if (active && active !== this) active.close()
    active = this
    if (!this.container.isConnected) document.body.appendChild(this.container)
    global.wx = this.wx()
    global.App = (definition) => {
      this.app = definition
    }
    global.getApp = () => this.app
    global.getCurrentPages = () => this.stack.map((entry) => entry.instance)
    require(path.join(SRC, 'app.js'))
    if (this.app && this.app.onLaunch) this.app.onLaunch({ path: url.replace(/^\//, ''), query: {} })
    this.open(url, 'reLaunch')
    await this.settle()
    return this.page
  }

  /** The page on top of the stack: its simulate component (querySelector, data, instance). */
  get page() {
    const top = this.stack[this.stack.length - 1]
    return top ? top.component : null
  }

  get route() {
    const top = this.stack[this.stack.length - 1]
    return top ? top.route : null
  }

  close() {
    while (this.stack.length) this.unload(this.stack.pop())
    this.container.remove()
  }

  // --- the page stack ---

  resolve(url) {
    const [pathname, search] = url.split('?')
    let route = pathname
    if (!route.startsWith('/')) {
      const base = this.route ? path.posix.dirname(this.route) : ''
      route = path.posix.join('/', base, route)
    }
    route = route.replace(/^\//, '')
    if (!allRoutes().has(route)) throw new Error(`page "${route}" is not found in app.json`)
    return { route, query: parseQuery(search) }
  }

  load({ route, query }) {
    const id = simulate.load(path.join(SRC, route), { rootPath: SRC })
    const component = simulate.render(id)
    const parent = document.createElement('page-wrapper')
    this.container.appendChild(parent)
    component.attach(parent)
    const entry = { route, query, component, instance: component.instance, parent }
    entry.instance.route = route
    entry.instance.options = query
    return entry
  }

  unload(entry) {
    if (entry.instance.onUnload) entry.instance.onUnload()
    entry.component.detach()
    entry.parent.remove()
  }

  call(entry, hook, ...args) {
    if (typeof entry.instance[hook] === 'function') entry.instance[hook](...args)
  }

  open(url, how, delta = 1) {
    if (how === 'navigateBack') {
      if (this.stack.length <= 1) throw new Error('navigateBack: no page to go back to')
      for (let i = 0; i < Math.min(delta, this.stack.length - 1); i += 1) this.unload(this.stack.pop())
      this.call(this.stack[this.stack.length - 1], 'onShow')
      return
    }
    const target = this.resolve(url)
    if (how === 'navigateTo') {
      if (this.stack.length >= MAX_STACK) throw new Error('navigateTo: the page stack is full (10)')
      if (this.stack.length) this.call(this.stack[this.stack.length - 1], 'onHide')
    } else if (how === 'redirectTo') {
      if (this.stack.length) this.unload(this.stack.pop())
    } else {
      while (this.stack.length) this.unload(this.stack.pop())
    }
    const entry = this.load(target)
    this.stack.push(entry)
    this.call(entry, 'onLoad', target.query)
    this.call(entry, 'onShow')
  }

  /** A navigation as WeChat does it: after the caller's code has run, then success/complete. */
  navigation(how) {
    return (options = {}) => {
      this.pending += 1
      setTimeout(() => {
        try {
          this.open(options.url, how, options.delta)
          if (options.success) options.success({ errMsg: `${how}:ok` })
        } catch (error) {
          if (!options.fail) throw error
          options.fail({ errMsg: `${how}:fail ${error.message}` })
        } finally {
          if (options.complete) options.complete()
          this.pending -= 1
        }
      }, 0)
    }
  }

  // --- waiting ---

  /** Wait until no request or navigation is in flight and the pages' promises have run. */
  async settle(timeout = 15000) {
    const deadline = Date.now() + timeout
    let quiet = 0
    while (quiet < 3) {
      await new Promise((resolve) => setTimeout(resolve, 1)) // jsdom has no setImmediate
      quiet = this.pending === 0 ? quiet + 1 : 0
      if (Date.now() > deadline) throw new Error(`the page did not settle in ${timeout} ms`)
    }
    if (this.errors.length) throw this.errors.shift()
  }

  // --- acting on the rendered page ---

  /** The node `selector` picks on the top page; "a >>> b" looks for b inside component a. */
  query(selector) {
    let node = this.page
    for (const part of selector.split('>>>').map((piece) => piece.trim())) node = node && node.querySelector(part)
    return node || null
  }

  find(selector) {
    const node = this.query(selector)
    if (!node) throw new Error(`${this.route}: nothing matches ${selector}`)
    return node
  }

  /** The element a tap reaches: a TDesign button's own <button>, else the node itself. */
  target(selector) {
    const node = this.find(selector)
    return node.querySelector('.t-button') || node.querySelector('.t-cell') || node.querySelector('.t-switch') || node
  }

  /** The text a node shows (TDesign's components are virtual hosts: their text is in their
   * shadow tree's elements). */
  text(selector) {
    return textOf(this.find(selector)._exparserNode).replace(/\s+/g, ' ').trim()
  }

  /** The texts of every node `selector` picks ("a >>> b": every b inside component a). */
  texts(selector) {
    const parts = selector.split('>>>').map((piece) => piece.trim())
    const last = parts.pop()
    const scope = parts.length ? this.query(parts.join(' >>> ')) : this.page
    return (scope ? scope.querySelectorAll(last) : []).map((node) =>
      textOf(node._exparserNode).replace(/\s+/g, ' ').trim(),
    )
  }

  has(selector) {
    return Boolean(this.query(selector))
  }

  async tap(selector) {
    const target = this.target(selector)
    // simulate delivers the event one microtask later: the gesture lasts until that microtask has
    // run the handler's synchronous part (what follows its first await comes after this reset).
    this.inTap = true
    try {
      target.dispatchEvent('tap')
      await null
    } finally {
      this.inTap = false
    }
    await this.settle()
  }

  /** Type into a t-input or t-textarea (its native control fires `input`, TDesign answers with
   * `change`). */
  async input(selector, value) {
    const node = this.find(selector)
    const field = node.querySelector('.t-input__control') || node.querySelector('.t-textarea__wrapper-inner') || node
    emit(field, 'input', { value, cursor: value.length, keyCode: 0 })
    await this.settle()
  }

  /** A native component's event with `detail` on a node (open-type answers of a button, say). */
  async trigger(selector, event, detail = {}) {
    emit(this.target(selector), event, detail)
    await this.settle()
  }

  /** The user taps an open-type="getPhoneNumber" button: the privacy check first, then WeChat
   * answers with a one-time code for `phone` (from the simulator), the `code` given, or `errno`.
   * When the privacy popup is shown this returns with it open; the answer comes after
   * agreePrivacy(). */
  async getPhoneNumber(selector, { phone, errno, code } = {}) {
    const target = this.target(selector)
    this.tracked(async () => {
      const agreed = await this.privacyGate('getPhoneNumber')
      let detail
      if (!agreed) detail = { errno: 104, errMsg: 'getPhoneNumber:fail privacy permission is not authorized' }
      else if (errno) detail = { errno, errMsg: `getPhoneNumber:fail errno ${errno}` }
      else detail = { code: code || (await this.simulatorCode({ kind: 'phone', phone })), errMsg: 'getPhoneNumber:ok' }
      emit(target, 'getphonenumber', detail)
    }).catch((error) => this.errors.push(error))
    await this.settle()
  }

  /** The user taps the privacy popup's agree button (open-type="agreePrivacyAuthorization"). */
  async agreePrivacy(selector = '.privacy >>> .privacy-agree') {
    await this.trigger(selector, 'agreeprivacyauthorization', {})
  }

  /** The user taps the back button of the navigation bar. */
  async navigateBack() {
    this.open(null, 'navigateBack')
    await this.settle()
  }

  /** A finger drawing on a <canvas>: touchstart at the first point, touchmove through the rest,
   * touchend (jsdom hands the page clientX / pageY, as a view's touches have). */
  async stroke(selector, points) {
    const node = this.find(selector)
    const [first, ...rest] = points
    node.dispatchEvent('touchstart', { touches: [first], changedTouches: [first] })
    for (const point of rest) node.dispatchEvent('touchmove', { touches: [point], changedTouches: [point] })
    node.dispatchEvent('touchend', { changedTouches: [points[points.length - 1]] })
    await this.settle()
  }

  /** What wx.chooseMedia answers next: the files the user picked or shot (paths on disk), or
   * { cancel: true }. */
  queueMedia(filePaths) {
    this.media.push(filePaths)
  }

  /** What the next subscribe popup answers: { [tmplId]: 'accept' | 'reject' | 'ban' } (templates
   * left out are accepted), or { cancel: true } when the user closes it. */
  queueSubscribe(answer) {
    this.subscribeAnswers.push(answer)
  }

  /** What wx.scanCode answers next: { result, scanType?, path? } or { cancel: true }. */
  queueScan(answer) {
    this.scans.push(answer)
  }

  /** The next `count` wx.uploadFile calls fail as a dropped signal would (fail, no answer). */
  failUploads(count) {
    this.uploadFailures = count
  }

  // --- wx ---

  async simulatorCode(spec) {
    const response = await send(`${env.wechatSimulatorUrl}/_sim/codes`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(spec),
    })
    const body = parsed(response)
    if (response.status !== 200) throw new Error(`WeChat simulator: ${JSON.stringify(body)}`)
    return body.code
  }

  /** Before a privacy API: resolves true when the user has agreed (asking through the page's
   * onNeedPrivacyAuthorization handler if not yet), false when they disagree. */
  privacyGate(api) {
    if (this.privacyAgreed) return Promise.resolve(true)
    if (!this.privacyHandler) {
      throw new Error(`${api} needs the privacy agreement and no wx.onNeedPrivacyAuthorization handler is set`)
    }
    this.privacyAsked.push(api)
    // Called inside tracked work: while the popup waits for the user, the page is settled.
    this.pending -= 1
    return new Promise((resolve) => {
      this.privacyHandler(
        (answer) => {
          this.pending += 1
          this.privacyAgreed = Boolean(answer && answer.event === 'agree')
          resolve(this.privacyAgreed)
        },
        { referrer: api },
      )
    })
  }

  async tracked(work) {
    this.pending += 1
    try {
      return await work()
    } finally {
      this.pending -= 1
    }
  }

  checkDomain(url) {
    if (new URL(url).host !== new URL(env.apiBaseUrl).host) {
      throw new Error(`url not in domain list: ${url} (only ${env.apiBaseUrl} is configured)`)
    }
  }

  wx() {
    const phone = this
    const answer = (options, promise, name) => {
      promise.then(
        (result) => {
          if (options.success) options.success(result)
          if (options.complete) options.complete(result)
        },
        (error) => {
          const failure = {
            errMsg: `${name}:fail ${error.message}`,
            ...(error.errno ? { errno: error.errno } : {}),
            ...(error.errCode ? { errCode: error.errCode } : {}),
          }
          if (options.fail) options.fail(failure)
          if (options.complete) options.complete(failure)
        },
      )
    }
    const own = {
      request(options) {
        phone.checkDomain(options.url)
        const method = (options.method || 'GET').toUpperCase()
        const headers = { ...(options.header || {}) }
        let { url } = options
        let body
        if (options.data !== undefined && method === 'GET') {
          const search = new URLSearchParams(options.data).toString()
          url += (url.includes('?') ? '&' : '?') + search
        } else if (options.data !== undefined) {
          body = typeof options.data === 'string' ? options.data : JSON.stringify(options.data)
          headers['Content-Type'] = headers['Content-Type'] || 'application/json'
        }
        const work = phone.tracked(async () => {
          const started = Date.now()
          const response = await send(url, { method, headers, body })
          phone.requests.push({ method, url, status: response.status, ms: Date.now() - started })
          return { statusCode: response.status, data: parsed(response), header: response.headers, errMsg: 'request:ok' }
        })
        answer(options, work, 'request')
        return { abort() {}, onHeadersReceived() {}, offHeadersReceived() {} }
      },
      uploadFile(options) {
        phone.checkDomain(options.url)
        const progress = []
        const work = phone.tracked(async () => {
          if (phone.uploadFailures > 0) {
            phone.uploadFailures -= 1
            throw new Error('network error')
          }
          phone.uploading += 1
          phone.mostUploadsAtOnce = Math.max(phone.mostUploadsAtOnce, phone.uploading)
          try {
            await new Promise((resolve) => setTimeout(resolve, 0)) // the others start meanwhile
            const form = multipart(options.formData, options.name, options.filePath)
            const headers = { ...(options.header || {}), 'Content-Type': form.type }
            const response = await send(options.url, { method: 'POST', headers, body: form.body })
            phone.requests.push({ method: 'POST', url: options.url, status: response.status, upload: true })
            const size = form.body.length
            progress.forEach((listener) =>
              listener({ progress: 100, totalBytesSent: size, totalBytesExpectedToSend: size }),
            )
            return { statusCode: response.status, data: response.body.toString('utf8'), errMsg: 'uploadFile:ok' }
          } finally {
            phone.uploading -= 1
          }
        })
        answer(options, work, 'uploadFile')
        return { abort() {}, onProgressUpdate: (listener) => progress.push(listener) }
      },
      downloadFile(options) {
        // Real HTTP as wx.downloadFile does it: any status succeeds with a temp file of the body.
        phone.checkDomain(options.url)
        const work = phone.tracked(async () => {
          const response = await send(options.url, { method: 'GET', headers: { ...(options.header || {}) } })
          phone.requests.push({ method: 'GET', url: options.url, status: response.status, download: true })
          const file = path.join(os.tmpdir(), `wx-download-${Math.random().toString(36).slice(2, 12)}`)
          fs.writeFileSync(file, response.body)
          const type = response.headers['content-type'] || ''
          phone.downloads.push({ url: options.url, status: response.status, type, file })
          return { statusCode: response.status, tempFilePath: file, errMsg: 'downloadFile:ok' }
        })
        answer(options, work, 'downloadFile')
        return { abort() {}, onProgressUpdate() {} }
      },
      openDocument(options = {}) {
        const work = phone.tracked(async () => {
          if (!fs.existsSync(options.filePath || '')) throw new Error('file not found')
          phone.documents.push({ filePath: options.filePath, fileType: options.fileType })
          return { errMsg: 'openDocument:ok' }
        })
        answer(options, work, 'openDocument')
      },
      previewImage(options = {}) {
        phone.previews.push({ urls: options.urls || [], current: options.current })
        answer(options, Promise.resolve({ errMsg: 'previewImage:ok' }), 'previewImage')
      },
      login(options = {}) {
        const work = phone.tracked(async () => ({
          code: await phone.simulatorCode({ kind: 'login', openid: phone.openid }),
          errMsg: 'login:ok',
        }))
        answer(options, work, 'login')
      },
      scanCode(options = {}) {
        const work = phone.tracked(async () => {
          if (!(await phone.privacyGate('scanCode'))) {
            throw Object.assign(new Error('privacy permission is not authorized'), { errno: 104 })
          }
          const next = phone.scans.shift()
          if (!next) throw new Error('the test queued no scan (queueScan)')
          if (next.cancel) throw new Error('cancel')
          return { scanType: 'QR_CODE', charSet: 'utf-8', errMsg: 'scanCode:ok', ...next }
        })
        answer(options, work, 'scanCode')
      },
      chooseMedia(options = {}) {
        const work = phone.tracked(async () => {
          if (!(await phone.privacyGate('chooseMedia'))) {
            throw Object.assign(new Error('privacy permission is not authorized'), { errno: 104 })
          }
          const next = phone.media.shift()
          if (!next) throw new Error('the test queued no media (queueMedia)')
          if (next.cancel) throw new Error('cancel')
          const picked = next.slice(0, options.count || 9)
          const tempFiles = picked.map((file) => ({
            tempFilePath: file,
            size: fs.statSync(file).size,
            fileType: 'image',
          }))
          return { tempFiles, type: 'image', errMsg: 'chooseMedia:ok' }
        })
        answer(options, work, 'chooseMedia')
      },
      canvasToTempFilePath(options = {}) {
        answer(
          options,
          Promise.resolve({ tempFilePath: CANVAS_PNG, errMsg: 'canvasToTempFilePath:ok' }),
          'canvasToTempFilePath',
        )
      },
      requestSubscribeMessage(options = {}) {
        // WeChat refuses the popup outside a user's tap (an await before the call is outside it).
        const gesture = phone.inTap
        const ids = options.tmplIds || []
        const work = phone.tracked(async () => {
          if (!gesture) throw Object.assign(new Error('can only be invoked by user TAP gesture.'), { errCode: 20003 })
          if (ids.length < 1 || ids.length > 3)
            throw Object.assign(new Error('Templates count out of max bounds'), { errCode: 20003 })
          phone.subscribeAsked.push(ids)
          const next = phone.subscribeAnswers.shift() || {}
          if (next.cancel) throw Object.assign(new Error('cancel'), { errCode: 20004 })
          const result = { errMsg: 'requestSubscribeMessage:ok' }
          ids.forEach((id) => {
            result[id] = next[id] || 'accept'
          })
          return result
        })
        answer(options, work, 'requestSubscribeMessage')
      },
      onNeedPrivacyAuthorization(handler) {
        phone.privacyHandler = handler
      },
      getPrivacySetting(options = {}) {
        answer(
          options,
          Promise.resolve({
            needAuthorization: !phone.privacyAgreed,
            privacyContractName: '《微修小程序隐私保护指引》',
          }),
          'getPrivacySetting',
        )
      },
      openPrivacyContract(options = {}) {
        answer(options, Promise.resolve({}), 'openPrivacyContract')
      },
      getStorageSync: (key) => (phone.storage.has(key) ? phone.storage.get(key) : ''),
      setStorageSync: (key, value) => phone.storage.set(key, value),
      removeStorageSync: (key) => phone.storage.delete(key),
      setStorage(options = {}) {
        phone.storage.set(options.key, options.data)
        answer(options, Promise.resolve({}), 'setStorage')
      },
      showToast(options = {}) {
        phone.toasts.push(options.title)
        answer(options, Promise.resolve({}), 'showToast')
      },
      showModal(options = {}) {
        phone.toasts.push(options.content || options.title)
        answer(options, Promise.resolve({ confirm: true, cancel: false }), 'showModal')
      },
      setNavigationBarTitle(options = {}) {
        phone.title = options.title
        answer(options, Promise.resolve({}), 'setNavigationBarTitle')
      },
      navigateTo: phone.navigation('navigateTo'),
      redirectTo: phone.navigation('redirectTo'),
      reLaunch: phone.navigation('reLaunch'),
      navigateBack: (options = {}) => phone.navigation('navigateBack')({ delta: 1, ...options }),
    }
    for (const [name, method] of Object.entries(own)) {
      own[name] = (...args) => {
        if (active !== phone)
          throw new Error(`wx.${name} called by a page of a phone that is not active: launch() it again`)
        return method(...args)
      }
    }
    return { ...SIMULATE_WX, ...own }
  }
}

module.exports = { MiniProgram, SRC, CANVAS_PNG, parseQuery }
