#!/usr/bin/env bash
# Build netstream-lab's own image on the locally made Debian base (no registry needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
base=$(node dist/src/cli/main.js images build base | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).base))')
# Trust the same extra CAs as this machine (a TLS-intercepting proxy would otherwise break npm).
find docker/extra-ca -name '*.crt' -delete
for crt in /usr/local/share/ca-certificates/*.crt; do
  [ -f "$crt" ] && cp "$crt" docker/extra-ca/
done
echo "building netstream-lab/server on $base" >&2
docker build --build-arg "BASE_IMAGE=$base" -t netstream-lab/server:dev . >&2
docker run --rm netstream-lab/server:dev --version
