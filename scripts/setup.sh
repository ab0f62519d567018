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
# The ssh:// engine test logs in to a real sshd on loopback (test/integration/engines-ssh.test.ts).
# Debian's package, installed when missing and root may; policy-rc.d keeps apt from starting its
# service, so no sshd listens on port 22 because of this.
if [ ! -x /usr/sbin/sshd ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing openssh-server for the ssh:// engine test (its service is not started)"
  policy=/usr/sbin/policy-rc.d made_policy=
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1; fi
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server openssh-client; } \
    >/dev/null || echo "could not install openssh-server: the ssh:// engine test will fail; netstream-lab itself does not need it"
  if [ -n "$made_policy" ]; then rm -f "$policy"; fi
fi
# The web view's browser test (test/e2e/web-ui.test.ts) drives Debian's chromium with
# puppeteer-core (browser downloads of its own are not used); installed when missing and root may.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium for the web view's browser test"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } \
    >/dev/null || echo "could not install chromium: the web view's browser test will fail; netstream-lab itself does not need it"
fi
node dist/src/cli/main.js images build >/dev/null
