// After `vite build`: a gzip copy beside each script and style sheet, which the server sends to
// browsers that accept it (weixiu/console_files.py) — compressed once here, not on every request.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { constants, gzipSync } from 'node:zlib'

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'dist')
const COMPRESSIBLE = /\.(js|css|svg|json)$/

function* files(folder) {
  for (const name of readdirSync(folder)) {
    const path = join(folder, name)
    if (statSync(path).isDirectory()) yield* files(path)
    else if (COMPRESSIBLE.test(name)) yield path
  }
}

let count = 0
for (const path of files(dist)) {
  writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: constants.Z_BEST_COMPRESSION }))
  count += 1
}
console.log(`gzip copies written for ${count} files`)
