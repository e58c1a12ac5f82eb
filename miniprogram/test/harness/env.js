// The server the journeys call, as globalSetup started it (src/config/env.js's stand-in: jest maps
// the pages' require of config/env.js here).
module.exports = {
  apiBaseUrl: process.env.WEIXIU_MP_TEST_API,
  wechatSimulatorUrl: process.env.WEIXIU_MP_TEST_WECHAT,
  smsSimulatorUrl: process.env.WEIXIU_MP_TEST_SMS,
}
