// The journeys run in Node under miniprogram-simulate (test/harness/runtime.js) against a live
// server: the run's shared one (test/harness/global-setup.js) or the file's own.
module.exports = {
  // jsdom, plus a server of the file's own for `@weixiu-server fresh` (see the file).
  testEnvironment: '<rootDir>/test/harness/environment.js',
  testMatch: ['<rootDir>/test/**/*.test.js'],
  globalSetup: '<rootDir>/test/harness/global-setup.js',
  globalTeardown: '<rootDir>/test/harness/global-teardown.js',
  // The pages' config/env.js (written by scripts/configure.mjs) is the test server's here.
  moduleNameMapper: { '/config/env(\\.js)?$': '<rootDir>/test/harness/env.js' },
  // TDesign's built files are ES modules: babel makes them CommonJS for Node.
  transform: { '\\.js$': ['babel-jest', { plugins: ['@babel/plugin-transform-modules-commonjs'] }] },
  // Inside src/ the npm names resolve to miniprogram_npm, as in WeChat.
  moduleDirectories: ['miniprogram_npm', 'node_modules'],
  testTimeout: 30000,
  // One file at a time: the shared server's sign-in limits and a 2-core machine.
  maxWorkers: 1,
}
