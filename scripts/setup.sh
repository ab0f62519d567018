#!/usr/bin/env bash
# Make this checkout runnable, idempotently: Node packages, the build, a Docker engine, the lab
# images. Everything goes to stderr, so `./nslab mcp` keeps stdout for JSON-RPC.
set -euo pipefail
exec 1>&2
cd "$(dirname "$0")/.."
# shellcheck source=scripts/runtime.sh
source scripts/runtime.sh

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing Node packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find src tools package.json tsconfig.json -newer "$stamp" -type f -print -quit)" ]; then
  echo "building (tsc)"
  npm run -s build
  touch "$stamp"
fi
bash scripts/docker-up.sh
node dist/src/cli/main.js images build >/dev/null
