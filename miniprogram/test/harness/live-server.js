// Start and stop one live server (test/harness/server.py: the embedded app on SQLite + embedded
// Redis with its worker, the WeChat and SMS simulators and the demo data). globalSetup starts the
// run's shared one; a journey file that changes the demo for good asks for its own with the
// docblock pragma `@weixiu-server fresh` (test/harness/environment.js).
const { spawn } = require('child_process')
const fs = require('fs')
const path = require('path')

const ROOT = path.resolve(__dirname, '..', '..', '..')
const MARK = 'WEIXIU_MP_TEST '
const START_TIMEOUT_MS = 120000
const STOP_TIMEOUT_MS = 15000

/** Start a server; resolves to { child, urls: { api, wechat, sms } } once its web answers. */
async function startServer(logName) {
  const python = process.env.WEIXIU_PYTHON || path.join(ROOT, '.venv', 'bin', 'python')
  fs.mkdirSync(path.join(ROOT, 'artifacts'), { recursive: true })
  const logPath = path.join(ROOT, 'artifacts', logName)
  const log = fs.openSync(logPath, 'w')
  const child = spawn(python, [path.join(__dirname, 'server.py')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', log],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  })
  const urls = await new Promise((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(
      () => reject(new Error(`the test server did not start in time; see ${logPath}`)),
      START_TIMEOUT_MS,
    )
    child.stdout.on('data', (chunk) => {
      fs.writeSync(log, chunk)
      seen += chunk.toString('utf8')
      const line = seen.split('\n').find((text) => text.startsWith(MARK))
      if (line) {
        clearTimeout(timer)
        resolve(JSON.parse(line.slice(MARK.length)))
      }
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the test server exited (${code}); see ${logPath}`))
    })
  })
  child.stdout.removeAllListeners('data')
  child.stdout.on('data', (chunk) => fs.writeSync(log, chunk))
  child.removeAllListeners('exit')
  return { child, urls }
}

/** SIGTERM (it shuts its worker, simulators and embedded Redis down and removes its instance
 * directory), SIGKILL if it does not stop in time. */
async function stopServer(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
  await exited
  clearTimeout(timer)
}

/** The variables test/harness/env.js reads. */
function serverEnv(urls) {
  return { WEIXIU_MP_TEST_API: urls.api, WEIXIU_MP_TEST_WECHAT: urls.wechat, WEIXIU_MP_TEST_SMS: urls.sms }
}

module.exports = { startServer, stopServer, serverEnv }
