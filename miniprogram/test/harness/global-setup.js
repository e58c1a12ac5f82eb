// Start the live server once for the whole run (test/harness/server.py: the embedded app on
// SQLite + embedded Redis with its worker, the WeChat and SMS simulators and the demo data) and
// hand its URLs to the tests through the environment. Its log goes to
// artifacts/miniprogram-test-server.log.
const { spawn } = require('child_process')
const fs = require('fs')
const path = require('path')

const ROOT = path.resolve(__dirname, '..', '..', '..')
const MARK = 'WEIXIU_MP_TEST '
const START_TIMEOUT_MS = 120000

module.exports = async function globalSetup() {
  if (!fs.existsSync(path.join(__dirname, '..', '..', 'src', 'miniprogram_npm'))) {
    throw new Error('src/miniprogram_npm is not built: run `node scripts/build-npm.mjs` first')
  }
  const python = process.env.WEIXIU_PYTHON || path.join(ROOT, '.venv', 'bin', 'python')
  fs.mkdirSync(path.join(ROOT, 'artifacts'), { recursive: true })
  const log = fs.openSync(path.join(ROOT, 'artifacts', 'miniprogram-test-server.log'), 'w')
  const child = spawn(python, [path.join(__dirname, 'server.py')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', log],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  })
  globalThis.weixiuServer = child
  const urls = await new Promise((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(
      () => reject(new Error('the test server did not start in time; see artifacts/miniprogram-test-server.log')),
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
      reject(new Error(`the test server exited (${code}); see artifacts/miniprogram-test-server.log`))
    })
  })
  child.stdout.on('data', (chunk) => fs.writeSync(log, chunk))
  child.removeAllListeners('exit')
  process.env.WEIXIU_MP_TEST_API = urls.api
  process.env.WEIXIU_MP_TEST_WECHAT = urls.wechat
  process.env.WEIXIU_MP_TEST_SMS = urls.sms
}
