#!/bin/bash
# Entrypoint of the netstream-lab BIRD image (PID 1).
#
# Each time the container starts:
#   1. remove routes a previous run installed (proto bird) and bring up the container's tunnels;
#   2. run `bird -f -c /etc/bird/bird.conf` in the foreground of this script, as root, its control
#      socket at /run/bird/bird.ctl (birdc's default, so `docker exec ... birdc show protocols`
#      works); times in UTC (status reads session uptimes from `birdc show protocols all`).
# bird.conf has a kernel protocol that exports the BGP routes BIRD selects into the container's
# main table (proto bird, metric 20), so traffic is routed through this node; BIRD removes them
# when it stops.
#
# Live changes: netstream-lab rewrites bird.conf and runs `birdc configure`; BIRD keeps every
# protocol (session) whose configuration did not change.
#
# Supervision: if bird exits, this script exits non-zero and the container's restart policy
# (unless-stopped) brings it back (unless a fault holds it down: nslab-held).
# SIGTERM/SIGINT (docker stop): stop bird, remove its routes, exit 0 at once.
set -u

log() { echo "nslab-bird: $*" >&2; }

conf=/etc/bird/bird.conf
ctl=/run/bird/bird.ctl
export TZ=UTC
bird_pid=''

flush_routes() { ip -4 route flush proto bird 2>/dev/null || true; }

on_term() {
  log "SIGTERM: stopping bird"
  if [ -n "$bird_pid" ]; then
    kill -TERM "$bird_pid" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      kill -0 "$bird_pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$bird_pid" 2>/dev/null
  fi
  flush_routes
  exit 0
}
trap on_term TERM INT
# A pipe nobody writes to: `read -t` on it is a sleep without a process.
exec {nap_fd}<> <(:)

if [ ! -s "$conf" ]; then
  log "error: $conf is missing or empty"
  exit 1
fi

mkdir -p /run/bird
rm -f "$ctl"
# Routes a previous run installed are stale now.
flush_routes
nslab-tunnels

bird -f -c "$conf" -s "$ctl" &
bird_pid=$!
log "bird started (pid $bird_pid)"

while :; do
  if ! kill -0 "$bird_pid" 2>/dev/null; then
    wait "$bird_pid"
    status=$?
    [ "$status" -eq 0 ] && status=1
    log "bird exited (status $status): exiting so that the restart policy restarts the container"
    flush_routes
    nslab-held
    exit "$status"
  fi
  # no process each round (a trapped SIGTERM ends the read at once)
  read -r -t 2 -u "$nap_fd" _ || true
done
