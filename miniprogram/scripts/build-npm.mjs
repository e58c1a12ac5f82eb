// Build src/miniprogram_npm with miniprogram-ci (the developer tool's own "构建 npm", offline),
// then prune it to what the pages reach (npm-graph.mjs): TDesign's whole dist is about 2 MB,
// WeChat's limit for the main package on its own.
//
// TDesign's icon font is fetched from its CDN (an @font-face in icon/icon.wxss): a request to a
// host that is not our API domain, which the package check refuses. The rule is dropped here;
// the pages label their actions with text, and t-icon glyphs do not render.
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { NPM_DIR, SOURCE_ROOT, reachable, walk } from './npm-graph.mjs'

const require = createRequire(import.meta.url)
const root = path.resolve(SOURCE_ROOT, '..')
const npmDir = path.join(SOURCE_ROOT, NPM_DIR)
const REMOTE_FONT = /@font-face\s*\{[^}]*url\(\s*["']?https?:\/\/[^}]*\}/g

async function pack() {
  fs.rmSync(npmDir, { recursive: true, force: true })
  const ci = require('miniprogram-ci')
  const result = await ci.packNpmManually({
    packageJsonPath: path.join(root, 'package.json'),
    miniprogramNpmDistDir: SOURCE_ROOT,
  })
  for (const warning of result.warnList || []) console.warn('packNpm:', warning.msg || warning)
  return result
}

function prune() {
  const { reached, missing } = reachable()
  if (missing.length) {
    const lines = missing.map(([from, spec]) => `  ${from}: ${spec}`).join('\n')
    throw new Error(`unresolved references (a typo, or a package not in package.json):\n${lines}`)
  }
  let removed = 0
  for (const file of walk(npmDir)) {
    if (!reached.has(file)) {
      fs.rmSync(file)
      removed += 1
    }
  }
  removeEmptyDirs(npmDir)
  for (const file of reached) {
    if (!file.startsWith(npmDir) || !file.endsWith('.wxss')) continue
    const text = fs.readFileSync(file, 'utf8')
    const local = text.replace(REMOTE_FONT, '')
    if (local !== text) fs.writeFileSync(file, local)
  }
  return { kept: walk(npmDir).length, removed }
}

function removeEmptyDirs(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeEmptyDirs(path.join(dir, entry.name))
  }
  if (fs.readdirSync(dir).length === 0) fs.rmdirSync(dir)
}

const packed = await pack()
const pruned = prune()
console.log(
  `miniprogram_npm: ${packed.miniProgramPackNum} mini-program package(s) built; ` +
    `kept ${pruned.kept} file(s) the pages reach, removed ${pruned.removed}`,
)
