#!/bin/bash
# Entrypoint of the netstream-lab OpenBGPD image (PID 1).
#
# Each time the container starts:
#   1. remove routes a previous run installed (proto 186) and bring up the container's tunnels;
#   2. run `bgpd -d -f /etc/bgpd.conf` (not daemonized) under this script; its control socket is
#      bgpctl's default, so `docker exec ... bgpctl show` works;
#   3. install the best paths bgpd learned from peers into the kernel: `ip route replace PREFIX
#      via NEXTHOP proto 186 metric 20`, and delete routes of proto 186 that are no longer in the
#      RIB. Debian's OpenBGPD 7.7 is built without kernel routing support on Linux (fib-update
#      does nothing there: measured), so this script does it, like the GoBGP image. Metric 20
#      keeps a learned prefix from replacing a connected route (metric 0) of the same subnet.
#      The RIB is read every 2 s (`bgpctl show rib`, a few ms) and the routes are changed only
#      when it changed, plus a full pass every 30 s.
#
# Live changes: netstream-lab rewrites bgpd.conf and runs `bgpctl reload`; bgpd keeps every
# session whose configuration did not change.
#
# Supervision: if bgpd exits, this script exits non-zero and the container's restart policy
# (unless-stopped) brings it back (unless a fault holds it down: nslab-held).
# SIGTERM/SIGINT (docker stop): stop bgpd, remove the installed routes, exit 0 at once.
set -u

log() { echo "nslab-openbgpd: $*" >&2; }

conf=/etc/bgpd.conf
RT_PROTO=186
RT_METRIC=20
bgpd_pid=''

flush_routes() { ip -4 route flush proto "$RT_PROTO" 2>/dev/null || true; }

on_term() {
  log "SIGTERM: stopping bgpd"
  if [ -n "$bgpd_pid" ]; then
    kill -TERM "$bgpd_pid" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      kill -0 "$bgpd_pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$bgpd_pid" 2>/dev/null
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

# bgpd refuses a config file that others may read (it holds TCP MD5 passwords).
chmod 0600 "$conf"
mkdir -p /run/openbgpd
rm -f /run/openbgpd/bgpd.sock*
flush_routes
nslab-tunnels

bgpd -d -f "$conf" &
bgpd_pid=$!
log "bgpd started (pid $bgpd_pid)"

# cidr4_re, ipv4_re, install_routes (images/common)
# shellcheck source=../common/nslab-routes.sh
. /usr/local/lib/nslab-routes.sh

# Best IPv4 paths learned from a peer (locally originated ones have no peer address and next hop
# 0.0.0.0), as "PREFIX<TAB>NEXTHOP" lines.
jq_best='
  .rib[]?
  | select(.best == true)
  | select((.neighbor.remote_addr // "") | test("^[0-9.]+$"))
  | [.prefix, (.exit_nexthop // "")]
  | select(.[1] != "" and .[1] != "0.0.0.0")
  | @tsv'

sync_routes() {
  local rib prefix nh
  declare -A want=()
  if ! rib="$(bgpctl -j show rib 2>/dev/null)"; then
    return 1
  fi
  while IFS=$'\t' read -r prefix nh; do
    [ -z "$prefix" ] && continue
    [[ "$prefix" =~ $cidr4_re && "$nh" =~ $ipv4_re ]] || continue
    want["$prefix"]="$nh"
  done < <(printf '%s' "$rib" | jq -r "$jq_best" 2>/dev/null)
  install_routes want
}

ticks=0
last_rib=''
while :; do
  if ! kill -0 "$bgpd_pid" 2>/dev/null; then
    wait "$bgpd_pid"
    status=$?
    [ "$status" -eq 0 ] && status=1
    log "bgpd exited (status $status): exiting so that the restart policy restarts the container"
    flush_routes
    nslab-held
    exit "$status"
  fi
  # The text RIB has no timestamps: it changes only when a path does.
  rib="$(bgpctl show rib 2>/dev/null)" || rib=''
  if [ -n "$rib" ] && { [ "$rib" != "$last_rib" ] || [ $((ticks % 15)) -eq 0 ]; }; then
    sync_routes && last_rib="$rib"
  fi
  ticks=$((ticks + 1))
  # no process each round (a trapped SIGTERM ends the read at once)
  read -r -t 2 -u "$nap_fd" _ || true
done
