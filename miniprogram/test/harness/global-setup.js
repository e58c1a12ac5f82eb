// Start the run's shared live server (test/harness/live-server.js) and hand its URLs to the tests
// through the environment. Its log goes to artifacts/miniprogram-test-server.log.
const fs = require('fs')
const path = require('path')
const { startServer, serverEnv } = require('./live-server')

module.exports = async function globalSetup() {
  if (!fs.existsSync(path.join(__dirname, '..', '..', 'src', 'miniprogram_npm'))) {
    throw new Error('src/miniprogram_npm is not built: run `node scripts/build-npm.mjs` first')
  }
  const { child, urls } = await startServer('miniprogram-test-server.log')
  globalThis.weixiuServer = child
  Object.assign(process.env, serverEnv(urls))
}
