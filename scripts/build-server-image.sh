#!/usr/bin/env bash
# Build netstream-lab's own server image on the locally made Debian base (no registry needed) and
# print its tag on stdout; size and build time go to stderr. NSLAB_SERVER_IMAGE names the tag
# (default netstream-lab/server:dev), NODE_VERSION the Node line inside (default: the Dockerfile's).
# CI runs this after the tests; test/e2e/server-image.test.ts runs it and then starts the image.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck source=scripts/runtime.sh
source scripts/runtime.sh
tag="${NSLAB_SERVER_IMAGE:-netstream-lab/server:dev}"
base=$(node dist/src/cli/main.js images build base --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).base))')
# Trust the same extra CAs as this machine (a TLS-intercepting proxy would otherwise break npm).
find docker/extra-ca -name '*.crt' -delete
for crt in /usr/local/share/ca-certificates/*.crt; do
  [ -f "$crt" ] && cp "$crt" docker/extra-ca/
done
args=(--build-arg "BASE_IMAGE=$base")
[ -n "${NODE_VERSION:-}" ] && args+=(--build-arg "NODE_VERSION=$NODE_VERSION")
echo "building $tag on $base" >&2
start=$(date +%s)
docker build "${args[@]}" -t "$tag" . >&2
size=$(docker image inspect -f '{{.Size}}' "$tag")
echo "built $tag in $(( $(date +%s) - start )) s: $(( size / 1000000 )) MB, $(docker run --rm "$tag" --version | tr -d '\n') on Node $(docker run --rm --entrypoint node "$tag" --version)" >&2
echo "$tag"
