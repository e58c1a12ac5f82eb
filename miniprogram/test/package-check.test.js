// The package check (scripts/check-package.mjs) on the real tree, and on copies of it with a
// request to another host, a network call outside services/, and an oversized subpackage.
const { spawnSync } = require('child_process')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { SRC } = require('./harness/runtime')

const CHECK = path.resolve(__dirname, '..', 'scripts', 'check-package.mjs')
const LIMIT = 2097152
let copy

function check(root) {
  const env = { ...process.env }
  if (root) env.WEIXIU_MP_SRC = root
  const run = spawnSync(process.execPath, [CHECK], { env, encoding: 'utf8' })
  return { status: run.status, out: run.stdout + run.stderr }
}

beforeEach(() => {
  copy = fs.mkdtempSync(path.join(os.tmpdir(), 'weixiu-mp-src-'))
  fs.cpSync(SRC, copy, { recursive: true })
})
afterEach(() => fs.rmSync(copy, { recursive: true, force: true }))

test('the built package passes, each package under 2,097,152 bytes', () => {
  const { status, out } = check()
  expect(out).toContain('package check passed')
  expect(status).toBe(0)
  const sizes = [...out.matchAll(/^package (\S+): (\d+) bytes/gm)].map((match) => [match[1], Number(match[2])])
  expect(sizes.map(([name]) => name)).toEqual([
    'main',
    'packages/engineer',
    'packages/vendor-admin',
    'packages/manager',
  ])
  for (const [, bytes] of sizes) expect(bytes).toBeLessThanOrEqual(LIMIT)
})

test('a request to another host, or from outside services/, fails the check', () => {
  const leak = "module.exports = () => wx.downloadFile({ url: 'https://cdn.elsewhere.example/font.woff' })\n"
  fs.writeFileSync(path.join(copy, 'utils', 'leak.js'), leak)

  const { status, out } = check(copy)

  expect(status).toBe(1)
  expect(out).toContain('utils/leak.js: requests https://cdn.elsewhere.example/font.woff')
  expect(out).toContain('utils/leak.js: calls wx.downloadFile (network calls go through services/request.js)')
})

test('a subpackage over 2,097,152 bytes fails the check', () => {
  fs.writeFileSync(path.join(copy, 'packages', 'engineer', 'big.png'), Buffer.alloc(LIMIT))

  const { status, out } = check(copy)

  expect(status).toBe(1)
  expect(out).toMatch(/packages\/engineer package is \d+ bytes, over 2097152/)
})
