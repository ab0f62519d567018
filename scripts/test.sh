#!/usr/bin/env bash
# The whole test suite: unit tests, real-Docker integration tests and MCP end-to-end tests.
# Installs and starts what the tests need (Node packages, build, Docker engine, lab images).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck source=scripts/runtime.sh
source scripts/runtime.sh
echo "node $(node --version)" >&2
npm run -s typecheck
npm run -s lint
mkdir -p .nslab-test
rc=0
rm -f .nslab-test/results.json
# Arguments, if any, name test files to run instead of all of them (.ci/run uses this for its second run).
npx vitest run --reporter=default --reporter=json --outputFile.json=.nslab-test/results.json "$@" || rc=$?
# One plain closing line: "tests: N passed, N failed".
node -e 'const r=require("./.nslab-test/results.json");console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed`+(r.numPendingTests?`, ${r.numPendingTests} skipped`:""))' || true
exit "$rc"
