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

# Wait (up to 90 s: a hundred daemons starting at once on two cores) for the API. Until its port
# listens, read from /proc/net/tcp with builtins only; then `gobgp global` must answer. Asking
# `gobgp global` every 0.5 s from the start cost ~40 ms of CPU a try, and under load gobgpd takes
# tens of seconds to listen.
api_listening() {
  local tcp=''
  read -r -d '' tcp </proc/net/tcp || true
  [[ "$tcp" == *' 0100007F:C383 00000000:0000 0A '* ]]
}
ready=0
t_api=${EPOCHREALTIME/./}
while ((${EPOCHREALTIME/./} - t_api < 90000000)); do
  if ! kill -0 "$gobgpd_pid" 2>/dev/null; then
    log "gobgpd exited during startup"
    exit 1
  fi
  if api_listening && gobgp global >/dev/null 2>&1; then
    ready=1
    break
  fi
  read -r -t 0.2 -u "$nap_fd" _ || true
done
if [ "$ready" -ne 1 ]; then
  log "gobgpd API did not answer within 90 s"
  kill -TERM "$gobgpd_pid" 2>/dev/null
  exit 1
fi

# cidr4_re, ipv4_re, read_installed, change_routes, install_routes (images/common)
# shellcheck source=../common/nslab-routes.sh
. /usr/local/lib/nslab-routes.sh

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

# ---- the route functions (test/unit/gobgp-routes.test.ts runs them with a stand-in `ip`) ----
# What follow_rib applied last (applied[], the caller's) made into best[] (the caller's): only the
# changes since, with no read of the kernel (a `read_installed` at each monitor start, and the
# full sync every 60 s, catch what else changed it).
apply_best() {
  local prefix
  change_routes best applied
  applied=()
  for prefix in "${!best[@]}"; do applied["$prefix"]=${best[$prefix]}; done
}

# A full sync from the RIB: each best IPv4 path learned from a peer, from `gobgp global rib`'s
# table ("*>" marks the best path; columns: marker, prefix, next hop, ...). Locally originated
# paths have next hop 0.0.0.0 and are left out. Split in memory: bash reads a pipe one byte per
# system call (`while read` over a process's output or a here-string).
sync_routes() {
  local - IFS rib line prefix nh
  local -a lines fields
  declare -A want=()
  set -f
  if ! rib="$(gobgp global rib -a ipv4 2>/dev/null)"; then
    return 1
  fi
  IFS=$'\n'
  lines=($rib)
  IFS=' '
  for line in "${lines[@]}"; do
    fields=($line)
    [[ "${fields[0]:-}" == *'*>' ]] || continue
    prefix="${fields[1]:-}"
    nh="${fields[2]:-}"
    [[ "$prefix" =~ $cidr4_re && "$nh" =~ $ipv4_re && "$nh" != 0.0.0.0 ]] || continue
    want["$prefix"]="$nh"
  done
  install_routes want
}

# The complete lines of the monitor's output in $buf (the caller's) taken into best[] (the
# caller's), prefix -> next hop; the last, partial line stays in $buf. What gobgp prints is
# container-written text: a prefix and a next hop are used only when they are an IPv4 CIDR and
# address, a line is split in memory with globbing off, and nothing from it is ever run.
take_lines() {
  local - IFS complete line i prefix nh
  local -a lines fields
  [[ "$buf" == *$'\n'* ]] || return 0
  complete=${buf%$'\n'*}
  buf=${buf##*$'\n'}
  set -f
  IFS=$'\n'
  lines=($complete)
  IFS=' '
  for line in "${lines[@]}"; do
    fields=($line)
    for ((i = 0; i < ${#fields[@]} && i < 4; i++)); do
      case ${fields[i]} in
        '[ROUTE]')
          prefix=${fields[i + 1]:-} nh=${fields[i + 3]:-}
          [[ "$prefix" =~ $cidr4_re ]] || break
          if [[ "${fields[i + 2]:-}" == via && "$nh" =~ $ipv4_re && "$nh" != 0.0.0.0 ]]; then
            best["$prefix"]=$nh
          else
            unset 'best[$prefix]'
          fi
          break
          ;;
        '[DELROUTE]')
          prefix=${fields[i + 1]:-}
          [[ "$prefix" =~ $cidr4_re ]] && unset 'best[$prefix]'
          break
          ;;
      esac
    done
  done
}
# ---- end of the route functions ----

# The routes follow GoBGP's best paths as they change, from `gobgp monitor global rib --current`:
# first a line per current best path, then a line per change, "TIME [ROUTE] PREFIX via NEXTHOP
# aspath [...] attrs [...]" for a new best path and "[DELROUTE] PREFIX ..." when a prefix has none
# left. The best paths are kept here (best[]), with what was last installed (applied[]), and only
# the difference is given to `ip`: a change costs one `ip` process, and a burst that ends where it
# began none (a full sync from the RIB was ~40 ms of CPU for the `gobgp` process alone, then one
# `ip` to read the kernel and one to change it, and a router in a converging ring of 100 synced
# every few seconds for minutes). A full sync every 60 s (the main loop) is the safety net, and the only cost of an idle
# lab.
#
# The stream is read in blocks (`read -N`) and split in memory: bash reads a line from a pipe one
# byte per system call, and reading the monitor's JSON that way made the GoBGP containers the
# machine's largest CPU user while a ring of 100 routers converged (4.5 s each between standup and
# every session Established, gobgpd itself 0.6 s).
#
# Changes are applied spaced: a burst is drained for 0.3 s, and after an apply the next waits
# (taking in the changes meanwhile) until max(2 s, 5 x the last apply's own time, at most 10 s) has
# passed since it began. A single change after a quiet spell is still installed within 0.3 s.
monitor_pid=''
follow_rib() {
  local last=0 took=0 gap now until rc chunk buf
  local -A best applied
  while kill -0 "$gobgpd_pid" 2>/dev/null; do
    best=()
    applied=()
    read_installed applied
    buf=''
    gobgp monitor global rib --current 2>/dev/null | {
      # the first byte of a change (end of the stream ends the loop)
      while IFS= read -r -N 1 chunk; do
        buf+=$chunk
        # the rest of the burst: whatever comes within 0.3 s, read 64 KiB at a time
        IFS= read -r -t 0.3 -N 65536 chunk
        buf+=$chunk
        take_lines
        gap=$((took * 5))
        ((gap < 2000000)) && gap=2000000
        ((gap > 10000000)) && gap=10000000
        now=${EPOCHREALTIME/./}
        until=$((last + gap))
        while ((now < until)); do
          # take in what comes meanwhile; end of the stream (rc 1..128) ends the wait
          IFS= read -r -t 0.5 -N 65536 chunk
          rc=$?
          buf+=$chunk
          take_lines
          ((rc != 0 && rc <= 128)) && break
          now=${EPOCHREALTIME/./}
        done
        last=${EPOCHREALTIME/./}
        apply_best
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
