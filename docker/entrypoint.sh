#!/bin/sh
# Entrypoint of the server image: run nslab as the unprivileged user `nslab`, not root.
# Started as root, it joins the group that owns the Docker socket (whatever gid the host gave it)
# and, when the container was given NET_ADMIN (needed for the lab bridges' forwarding rules, see
# compose.yaml), keeps that one capability as an ambient capability so iptables still works. Anyone
# who can use the Docker socket is root on the host in effect: dropping root here limits what a bug
# in the server can do inside the container, it does not make the socket safe to hand out.
# NSLAB_RUN_AS_ROOT=1 skips the drop (e.g. a bind-mounted data folder only root may write).
set -eu
app="node /app/dist/src/cli/main.js"
if [ "$(id -u)" != 0 ] || [ -n "${NSLAB_RUN_AS_ROOT:-}" ]; then
  exec $app "$@"
fi

groups=""
case "${DOCKER_HOST:-unix:///var/run/docker.sock}" in
  unix://*) sock="${DOCKER_HOST:-unix:///var/run/docker.sock}"; sock="${sock#unix://}" ;;
  *) sock="" ;;
esac
if [ -n "$sock" ] && [ -S "$sock" ]; then
  groups="$(stat -c %g "$sock")"
fi

# CAP_NET_ADMIN is bit 12 of the bounding set: present only if the container was started with it.
bnd="$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)"
caps=""
if [ $(( (0x$bnd >> 12) & 1 )) = 1 ]; then
  caps="--inh-caps=+net_admin --ambient-caps=+net_admin"
fi

# A fresh named volume is owned by nslab already (the image's /data); a data folder made by root
# (a bind mount, or a store written by an earlier root run) is handed over so the store can be written.
data="${NSLAB_DATA_DIR:-/data}"
mkdir -p "$data"
find "$data" ! -user nslab -exec chown nslab:nslab {} +

if [ -n "$groups" ]; then
  set -- --groups="$groups" $caps -- $app "$@"
else
  set -- --clear-groups $caps -- $app "$@"
fi
exec setpriv --reuid=nslab --regid=nslab "$@"
