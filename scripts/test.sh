#!/usr/bin/env bash
# The whole test suite: unit tests, real-Docker integration tests and MCP end-to-end tests.
# Installs and starts what the tests need (Node packages, build, Docker engine, lab images).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run -s typecheck
npm run -s lint
npx vitest run
