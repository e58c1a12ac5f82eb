// Stop the shared server globalSetup started.
const { stopServer } = require('./live-server')

module.exports = async function globalTeardown() {
  await stopServer(globalThis.weixiuServer)
}
