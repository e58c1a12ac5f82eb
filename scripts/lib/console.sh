# Sourced by scripts/* after venv.sh: build the PC console (console/ → console/dist/) when its
# sources, its lock file or the API it is typed against changed since the last build; install its
# packages from the lock (npm ci) when the lock changed. Without npm the service still runs: `/`
# then says the console is not built (weixiu/console_files.py).
console_build() {
  if ! command -v npm >/dev/null 2>&1; then
    echo "console: npm not found, the PC console is not built (install Node.js 20 and npm)" >&2
    return 0
  fi
  local sources wanted stamp=console/dist/.weixiu-build
  # The API types are generated from console_api/ (scripts/api-types.mjs): a changed API rebuilds.
  sources=$(find console -path console/node_modules -prune -o -path console/dist -prune \
      -o -name schema.d.ts -prune -o -type f -print; find console_api -name '*.py')
  wanted=$(printf '%s\n' "$sources" | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    return 0
  fi
  local lock_stamp=console/node_modules/.weixiu-lock
  local lock
  lock=$(sha256sum console/package-lock.json | cut -d' ' -f1)
  if [ ! -f "$lock_stamp" ] || [ "$(cat "$lock_stamp")" != "$lock" ]; then
    echo "console: installing packages (npm ci)" >&2
    (cd console && npm ci --no-audit --no-fund --loglevel=error) >&2
    echo "$lock" > "$lock_stamp"
  fi
  echo "console: building" >&2
  (cd console && PYTHON="$PWD/../.venv/bin/python" npm run --silent build -- --logLevel warn) >&2
  echo "$wanted" > "$stamp"
}
