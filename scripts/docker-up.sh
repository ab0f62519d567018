#!/usr/bin/env bash
# Make sure a Docker engine answers. Installs Debian's engine and starts dockerd when there is none
# (needs root); with DOCKER_HOST set, only checks that engine. Prints to stderr.
set -euo pipefail
exec 1>&2

if docker info >/dev/null 2>&1; then exit 0; fi
if [ -n "${DOCKER_HOST:-}" ]; then
  echo "the Docker engine at DOCKER_HOST=$DOCKER_HOST does not answer; start it or unset DOCKER_HOST"
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "no Docker engine is running and starting one needs root: start dockerd (or Docker Desktop), or set DOCKER_HOST"
  exit 1
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "installing Docker's engine (Debian package docker.io)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io iptables >/dev/null
fi
log=/var/log/nslab-dockerd.log
echo "starting dockerd (log: $log)"
nohup dockerd >"$log" 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 1
done
echo "dockerd did not answer within 60 s; last lines of $log:"
tail -n 20 "$log"
exit 1
