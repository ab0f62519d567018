#!/bin/bash
# Entrypoint of the netstream-lab GoBGP image (PID 1).
#
# Each time the container starts:
#   1. run `gobgpd -f /etc/gobgp/gobgpd.toml` with its gRPC API on 127.0.0.1:50051 only (the
#      gobgp CLI's default, so `docker exec ... gobgp neighbor` works; not reachable from the
#      lab networks) and pprof off;
#   2. once `gobgp global` answers, originate every IPv4 CIDR in /etc/gobgp/advertise
#      (one per line, may be empty) with `gobgp global rib add -a ipv4 PREFIX`;
#   3. whenever GoBGP's best paths change (and every 30 s), install the best paths learned from
#      peers into the kernel (GoBGP does not do it itself): `ip route replace PREFIX via NEXTHOP
#      proto 186 metric 20`, and delete routes of proto 186 that are no longer in the RIB.
#      Metric 20 keeps a learned prefix from replacing a connected route (metric 0) of the same
#      subnet.
#
# Supervision: if gobgpd exits, this script exits non-zero and the container's restart policy
# (unless-stopped) brings it back (re-adding the advertised prefixes).
# SIGTERM/SIGINT (docker stop): stop gobgpd, remove the installed routes, exit 0 at once.
set -u

log() { echo "nslab-gobgp: $*" >&2; }

conf=/etc/gobgp/gobgpd.toml
advertise=/etc/gobgp/advertise
RT_PROTO=186
RT_METRIC=20
gobgpd_pid=''

flush_routes() { ip -4 route flush proto "$RT_PROTO" 2>/dev/null || true; }

on_term() {
  log "SIGTERM: stopping gobgpd"
  [ -n "${monitor_pid:-}" ] && kill "$monitor_pid" 2>/dev/null
  if [ -n "$gobgpd_pid" ]; then
    kill -TERM "$gobgpd_pid" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      kill -0 "$gobgpd_pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$gobgpd_pid" 2>/dev/null
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

# Routes a previous run installed are stale now.
flush_routes
nslab-tunnels

gobgpd -f "$conf" -t toml --api-hosts=127.0.0.1:50051 --pprof-disable &
gobgpd_pid=$!
log "gobgpd started (pid $gobgpd_pid)"

# Wait (up to ~30 s) for the API.
ready=0
for _ in $(seq 1 60); do
  if ! kill -0 "$gobgpd_pid" 2>/dev/null; then
    log "gobgpd exited during startup"
    exit 1
  fi
  if gobgp global >/dev/null 2>&1; then
    ready=1
    break
  fi
  sleep 0.5
done
if [ "$ready" -ne 1 ]; then
  log "gobgpd API did not answer within 30 s"
  kill -TERM "$gobgpd_pid" 2>/dev/null
  exit 1
fi

cidr4_re='^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$'
ipv4_re='^([0-9]{1,3}\.){3}[0-9]{1,3}$'

if [ -f "$advertise" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    prefix="${line%%#*}"
    prefix="${prefix//[[:space:]]/}"
    [ -z "$prefix" ] && continue
    if [[ ! "$prefix" =~ $cidr4_re ]]; then
      log "ignoring invalid prefix in $advertise: $prefix"
      continue
    fi
    if gobgp global rib add -a ipv4 "$prefix" >/dev/null; then
      log "advertising $prefix"
    else
      log "could not add $prefix to the global RIB"
    fi
  done < "$advertise"
fi

# Best IPv4 paths learned from a peer (locally originated paths carry no neighbor-ip),
# as "PREFIX<TAB>NEXTHOP" lines.
jq_best='
  to_entries[] | .value[]
  | select(.best == true)
  | select((.["neighbor-ip"] // "") != "")
  | [.nlri.prefix, (first(.attrs[]? | select(.type == 3) | .nexthop) // "")]
  | select(.[1] != "" and .[1] != "0.0.0.0")
  | @tsv'

declare -A failed=()

sync_routes() {
  local rib line prefix nh batch=''
  declare -A want=() have=()
  if ! rib="$(gobgp global rib -a ipv4 -j 2>/dev/null)"; then
    return 1
  fi
  while IFS=$'\t' read -r prefix nh; do
    [ -z "$prefix" ] && continue
    [[ "$prefix" =~ $cidr4_re && "$nh" =~ $ipv4_re ]] || continue
    want["$prefix"]="$nh"
  done < <(printf '%s' "$rib" | jq -r "$jq_best" 2>/dev/null)

  # Installed routes of our proto: "PREFIX via NH dev IF metric 20 ..." (host routes have no /32).
  while read -r prefix _ nh _; do
    [ -z "$prefix" ] && continue
    [ "$prefix" = default ] && prefix=0.0.0.0/0
    [[ "$prefix" == */* ]] || prefix="$prefix/32"
    have["$prefix"]="$nh"
  done < <(ip -4 route show proto "$RT_PROTO" 2>/dev/null)

  for prefix in "${!want[@]}"; do
    nh="${want[$prefix]}"
    if [ "${have[$prefix]:-}" != "$nh" ]; then
      batch+="route replace $prefix via $nh proto $RT_PROTO metric $RT_METRIC"$'\n'
    fi
  done
  for prefix in "${!have[@]}"; do
    if [ -z "${want[$prefix]:-}" ]; then
      batch+="route del $prefix proto $RT_PROTO metric $RT_METRIC"$'\n'
    fi
  done
  if [ -n "$batch" ]; then
    # -force: one unreachable next hop must not stop the other changes.
    if ! printf '%s' "$batch" | ip -force -batch - 2>/tmp/nslab-route-errors; then
      # Log each failing change once, not every 2 s.
      local key
      key="$(cat /tmp/nslab-route-errors)"
      if [ -z "${failed[$key]:-}" ]; then
        failed["$key"]=1
        log "route sync errors: $key"
      fi
    fi
  fi
}

# Sync when GoBGP's best paths change: `gobgp monitor global rib` prints a line per change; a burst
# is drained for 0.3 s and synced once. A full sync every 30 s is the safety net (and the only cost
# of an idle lab: polling every few seconds cost each GoBGP container ~4% of a core).
#
# Syncs are spaced: after one, the next waits (draining the changes meanwhile) until
# max(2 s, 5 x the last sync's own time, at most 10 s) has passed since it began. A sync costs
# ~90 ms of CPU (a `gobgp` and a `jq` process); while a large lab converges, every router hears
# changes for every prefix in waves, and syncing each burst made this loop the container's largest
# cost (a ring of 30 routers: 1.5 s of CPU per GoBGP container, gobgpd itself 0.26 s), growing
# with the lab. A single change after a quiet spell is still synced within 0.3 s.
monitor_pid=''
follow_rib() {
  local last=0 took=0 gap now until rc
  while kill -0 "$gobgpd_pid" 2>/dev/null; do
    gobgp monitor global rib -j 2>/dev/null | {
      while read -r _; do
        while read -r -t 0.3 _; do :; done
        gap=$((took * 5))
        ((gap < 2000000)) && gap=2000000
        ((gap > 10000000)) && gap=10000000
        now=${EPOCHREALTIME/./}
        until=$((last + gap))
        while ((now < until)); do
          # drain what comes meanwhile; end of the stream (rc 1..128) ends the wait
          read -r -t 0.5 _
          rc=$?
          ((rc != 0 && rc <= 128)) && break
          now=${EPOCHREALTIME/./}
        done
        last=${EPOCHREALTIME/./}
        sync_routes
        now=${EPOCHREALTIME/./}
        took=$((now - last))
      done
    }
    sleep 1
  done
}
follow_rib &
monitor_pid=$!

ticks=0
while :; do
  if ! kill -0 "$gobgpd_pid" 2>/dev/null; then
    wait "$gobgpd_pid"
    status=$?
    [ "$status" -eq 0 ] && status=1
    log "gobgpd exited (status $status): exiting so that the restart policy restarts the container"
    kill "$monitor_pid" 2>/dev/null
    flush_routes
    nslab-held
    exit "$status"
  fi
  if [ $((ticks % 30)) -eq 0 ]; then sync_routes; fi
  ticks=$((ticks + 1))
  # no process each round (a trapped SIGTERM ends the read at once)
  read -r -t 2 -u "$nap_fd" _ || true
done
