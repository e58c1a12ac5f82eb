// The journeys run in Node under miniprogram-simulate (test/harness/runtime.js) against a live
// server started once per run (test/harness/global-setup.js).
module.exports = {
  testEnvironment: 'jsdom',
  testMatch: ['<rootDir>/test/**/*.test.js'],
  globalSetup: '<rootDir>/test/harness/global-setup.js',
  globalTeardown: '<rootDir>/test/harness/global-teardown.js',
  // The files that change the demo's data for good run last, in a fixed order (see the file).
  testSequencer: '<rootDir>/test/harness/sequencer.js',
  // The pages' config/env.js (written by scripts/configure.mjs) is the test server's here.
  moduleNameMapper: { '/config/env(\\.js)?$': '<rootDir>/test/harness/env.js' },
  // TDesign's built files are ES modules: babel makes them CommonJS for Node.
  transform: { '\\.js$': ['babel-jest', { plugins: ['@babel/plugin-transform-modules-commonjs'] }] },
  // Inside src/ the npm names resolve to miniprogram_npm, as in WeChat.
  moduleDirectories: ['miniprogram_npm', 'node_modules'],
  testTimeout: 30000,
  // One server: the journeys change its data, so they run one file at a time.
  maxWorkers: 1,
}
