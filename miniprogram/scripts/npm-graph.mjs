// What a mini-program file depends on, as WeChat resolves it: a component's json names its
// components (usingComponents), a JS file its modules (import / require, relative or npm names
// found in the nearest miniprogram_npm up the tree), a WXML file its imports, includes and WXS
// modules, a WXSS file its @imports. build-npm.mjs keeps only what the pages reach;
// check-package.mjs measures and scans the same set.
import fs from 'node:fs'
import path from 'node:path'

// src/, or another tree laid out like it (WEIXIU_MP_SRC: the package check's own tests).
export const SOURCE_ROOT = process.env.WEIXIU_MP_SRC
  ? path.resolve(process.env.WEIXIU_MP_SRC)
  : path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'src')
export const NPM_DIR = 'miniprogram_npm'
const COMPONENT_FILES = ['.json', '.js', '.wxml', '.wxss']

const isFile = (file) => fs.existsSync(file) && fs.statSync(file).isFile()
const isBare = (spec) => !spec.startsWith('.') && !spec.startsWith('/')

/** The directory of the nearest miniprogram_npm holding `name`, searched upward from `fromDir`
 * (WeChat's rule, as Node's for node_modules), or null. */
function npmPackageDir(fromDir, name) {
  let dir = fromDir
  for (;;) {
    const candidate = path.join(dir, NPM_DIR, name)
    if (fs.existsSync(candidate)) return candidate
    if (dir === SOURCE_ROOT || dir === path.dirname(dir)) return null
    dir = path.dirname(dir)
  }
}

/** An import specifier to a file path: relative, absolute (from the source root) or npm. */
export function resolveSpec(fromFile, spec, extension) {
  let base
  if (spec.startsWith('/')) base = path.join(SOURCE_ROOT, spec)
  else if (isBare(spec)) {
    const [name, ...rest] = spec.split('/')
    const scoped = name.startsWith('@') ? `${name}/${rest.shift()}` : name
    const dir = npmPackageDir(path.dirname(fromFile), scoped)
    if (!dir) return null
    base = path.join(dir, ...rest)
  } else base = path.resolve(path.dirname(fromFile), spec)
  for (const candidate of [base, `${base}${extension}`, path.join(base, `index${extension}`)]) {
    if (isFile(candidate) && candidate.endsWith(extension)) return candidate
  }
  return null
}

/** A component path (from usingComponents) to its files: path.{json,js,wxml,wxss} or path/index.* */
export function componentFiles(fromFile, spec) {
  const json = resolveSpec(fromFile, spec, '.json')
  if (!json) return []
  const stem = json.slice(0, -'.json'.length)
  return COMPONENT_FILES.map((ext) => `${stem}${ext}`).filter(isFile)
}

const JS_SPECS = [
  /\bimport\s*(?:[\w*{}\s,$]+?\s*from\s*)?["']([^"']+)["']/g,
  /\bexport\s*[\w*{}\s,$]+?\s*from\s*["']([^"']+)["']/g,
  /\brequire\(\s*["']([^"']+)["']\s*\)/g,
]
const WXML_SPECS = [/<(?:import|include|wxs)\b[^>]*?\bsrc\s*=\s*["']([^"']+)["']/g]
const WXSS_SPECS = [/@import\s+["']([^"']+)["']/g]

const matches = (text, patterns) => patterns.flatMap((re) => [...text.matchAll(re)].map((m) => m[1]))

/** The files `file` needs, resolved (unresolvable names are returned in `missing`). */
export function dependencies(file) {
  const text = fs.readFileSync(file, 'utf8')
  const found = []
  const missing = []
  const add = (spec, ext) => {
    const target = resolveSpec(file, spec, ext)
    if (target) found.push(target)
    else missing.push(spec)
  }
  const ext = path.extname(file)
  if (ext === '.json') {
    let json
    try {
      json = JSON.parse(text)
    } catch {
      return { found, missing }
    }
    const components = { ...json.usingComponents, ...json.componentGenerics }
    for (const spec of Object.values(components)) {
      if (typeof spec !== 'string' || spec.startsWith('plugin://')) continue
      const files = componentFiles(file, spec)
      if (files.length) found.push(...files)
      else missing.push(spec)
    }
  } else if (ext === '.js' || ext === '.wxs') {
    for (const spec of matches(text, JS_SPECS)) add(spec, ext)
  } else if (ext === '.wxml') {
    for (const spec of matches(text, WXML_SPECS)) add(spec, path.extname(spec) || '.wxml')
  } else if (ext === '.wxss') {
    for (const spec of matches(text, WXSS_SPECS)) add(spec, '.wxss')
  }
  return { found, missing }
}

/** Every file under `dir`, recursively. */
export function walk(dir) {
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? walk(full) : [full]
  })
}

/** Our own sources: everything under src/ but the built npm. */
export function ownSources() {
  return walk(SOURCE_ROOT).filter((file) => !file.split(path.sep).includes(NPM_DIR))
}

/** The closure of what our sources reach: { reached: Set of files, missing: [[from, spec]] }. */
export function reachable() {
  const reached = new Set()
  const missing = []
  const queue = [...ownSources()]
  while (queue.length) {
    const file = queue.pop()
    if (reached.has(file)) continue
    reached.add(file)
    const deps = dependencies(file)
    for (const spec of deps.missing) missing.push([path.relative(SOURCE_ROOT, file), spec])
    queue.push(...deps.found.filter((dep) => !reached.has(dep)))
  }
  return { reached, missing }
}
