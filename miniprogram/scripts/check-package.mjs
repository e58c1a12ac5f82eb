// The package check, run after build-npm.mjs (CI: scripts/miniprogram-test):
//  1. the pages the server links to (小程序码 stickers, template messages, the official account's
//     menu: every "pages/…" path in the Python code) are pages of the main package;
//  2. every page of app.json exists;
//  3. the main package (with the pruned miniprogram_npm) and each subpackage weigh at most
//     2,097,152 bytes (WeChat's limit for one package), all together at most 20 MiB;
//  4. nothing requests a host other than the configured API's: every http(s) URL in the package
//     names that host, and the network APIs (wx.request, wx.uploadFile, …) are called only from
//     the modules that build their URLs from config/env.js.
// Exit status 1 with the reasons when any fails.
//   node scripts/check-package.mjs [--api https://host]   (default: src/config/env.js's)
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { NPM_DIR, SOURCE_ROOT, walk } from './npm-graph.mjs'
import { apiBaseUrl } from './configure.mjs'

export const PACKAGE_LIMIT = 2 * 1024 * 1024
export const TOTAL_LIMIT = 20 * 1024 * 1024
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..')
const SERVER_SOURCES = ['config', 'bot', 'jobs', 'channels', 'console_api', 'miniprogram_api']
const NETWORK_APIS = /\bwx\s*\.\s*(request|uploadFile|downloadFile|connectSocket|createTCPSocket|createUDPSocket)\b/g
// The modules allowed to call them: they prefix every URL with config/env.js's base.
const NETWORK_MODULES = new Set(['services/request.js', 'services/upload.js'])
const URL_PATTERN = /\bhttps?:\/\/[^\s"'`)<>\\]+/g
// What WeChat leaves out of an upload (project.config.json packOptions.ignore).
const IGNORED = (file) => file.endsWith('.d.ts') || file.endsWith('.md')

const relative = (file) => path.relative(SOURCE_ROOT, file).split(path.sep).join('/')

/** The configured API's host: --api, else src/config/env.js (as configure.mjs wrote it), else
 * what configure.mjs would write (WEIXIU_MP_API_BASE_URL, PUBLIC_BASE_URL, the embedded run's). */
function apiHost() {
  const envFile = path.join(SOURCE_ROOT, 'config', 'env.js')
  const configured =
    !process.argv.includes('--api') && fs.existsSync(envFile)
      ? createRequire(import.meta.url)(envFile).apiBaseUrl
      : apiBaseUrl()
  return new URL(configured).host.toLowerCase()
}

/** Every "pages/…" path the server writes into stickers, messages and menus. */
function serverPages() {
  const found = new Set()
  for (const dir of SERVER_SOURCES) {
    for (const file of walk(path.join(REPO, dir)).filter((f) => f.endsWith('.py'))) {
      for (const match of fs.readFileSync(file, 'utf8').matchAll(/["'](pages\/[\w/-]+)/g)) found.add(match[1])
    }
  }
  return [...found].sort()
}

export function check() {
  const problems = []
  const app = JSON.parse(fs.readFileSync(path.join(SOURCE_ROOT, 'app.json'), 'utf8'))
  const subpackages = (app.subPackages || app.subpackages || []).map((sub) => ({
    ...sub,
    root: sub.root.replace(/\/$/, ''),
  }))
  if (!fs.existsSync(path.join(SOURCE_ROOT, NPM_DIR))) {
    problems.push('src/miniprogram_npm is missing: run `node scripts/build-npm.mjs` first')
  }

  // 1 and 2: the pages.
  for (const page of serverPages()) {
    if (!app.pages.includes(page)) problems.push(`the server links to ${page}: it must be a page of the main package`)
  }
  const pages = [...app.pages, ...subpackages.flatMap((sub) => sub.pages.map((page) => `${sub.root}/${page}`))]
  for (const page of pages) {
    for (const ext of ['.js', '.json', '.wxml']) {
      if (!fs.existsSync(path.join(SOURCE_ROOT, page + ext))) problems.push(`page ${page}: ${page}${ext} is missing`)
    }
  }

  // 3: the sizes.
  const files = walk(SOURCE_ROOT).filter((file) => !IGNORED(file))
  const sizes = { main: 0 }
  for (const sub of subpackages) sizes[sub.root] = 0
  for (const file of files) {
    const rel = relative(file)
    const owner = subpackages.find((sub) => rel.startsWith(`${sub.root}/`))
    sizes[owner ? owner.root : 'main'] += fs.statSync(file).size
  }
  for (const [name, bytes] of Object.entries(sizes)) {
    if (bytes > PACKAGE_LIMIT) problems.push(`${name} package is ${bytes} bytes, over ${PACKAGE_LIMIT}`)
  }
  const total = Object.values(sizes).reduce((a, b) => a + b, 0)
  if (total > TOTAL_LIMIT) problems.push(`all packages together are ${total} bytes, over ${TOTAL_LIMIT}`)

  // 4: the hosts.
  const host = apiHost()
  for (const file of files) {
    if (!/\.(js|wxs|wxss|wxml|json)$/.test(file)) continue
    const rel = relative(file)
    const text = fs.readFileSync(file, 'utf8')
    for (const [url] of text.matchAll(URL_PATTERN)) {
      let urlHost
      try {
        urlHost = new URL(url).host.toLowerCase()
      } catch {
        urlHost = url
      }
      if (urlHost !== host) problems.push(`${rel}: requests ${url}, not the API's host ${host}`)
    }
    if (/\.(js|wxs)$/.test(file) && !NETWORK_MODULES.has(rel)) {
      for (const match of text.matchAll(NETWORK_APIS)) {
        problems.push(`${rel}: calls wx.${match[1]} (network calls go through services/request.js)`)
      }
    }
  }
  return { sizes, total, host, problems }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  let result
  try {
    result = check()
  } catch (error) {
    console.error(`package check: ${error.message}`)
    process.exit(1)
  }
  for (const [name, bytes] of Object.entries(result.sizes)) {
    const share = ((bytes / PACKAGE_LIMIT) * 100).toFixed(1)
    console.log(`package ${name}: ${bytes} bytes (${share}% of ${PACKAGE_LIMIT})`)
  }
  console.log(`all packages: ${result.total} bytes; requests only to ${result.host}`)
  if (result.problems.length) {
    console.error(`package check failed:\n  ${result.problems.join('\n  ')}`)
    process.exit(1)
  }
  console.log('package check passed')
}
