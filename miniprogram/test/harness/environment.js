// The journeys' test environment: jsdom, plus a live server of the file's own when its docblock
// says `@weixiu-server fresh`. A journey that changes the demo's data for good (an order worked to
// the end, an alert handled, an order dispatched) takes its own server, so no file depends on which
// ran before it; the others share the run's server (globalSetup), which is faster.
const path = require('path')
const JsdomEnvironment = require('jest-environment-jsdom').TestEnvironment
const { startServer, stopServer, serverEnv } = require('./live-server')

class WeixiuEnvironment extends JsdomEnvironment {
  constructor(config, context) {
    super(config, context)
    this.fresh = context.docblockPragmas['weixiu-server'] === 'fresh'
    this.name = path.basename(context.testPath, '.test.js')
  }

  async setup() {
    await super.setup()
    if (!this.fresh) return
    const { child, urls } = await startServer(`miniprogram-test-server-${this.name}.log`)
    this.server = child
    // The sandbox's own process.env: only this file's modules see this server.
    Object.assign(this.global.process.env, serverEnv(urls))
  }

  async teardown() {
    await stopServer(this.server)
    await super.teardown()
  }
}

module.exports = WeixiuEnvironment
