#!/bin/bash
# Entrypoint of the netstream-lab FRR image (PID 1).
#
# Each time the container starts: give /etc/frr to frr:frr (netstream-lab writes frr.conf as root),
# drop pid/vty files a previous run left behind (a `docker restart` keeps the filesystem and
# reuses pids), then start FRR in two steps:
#   1. the daemons /etc/frr/daemons enables (zebra, bgpd, staticd, bfdd in the image's; an
#      imported node's own file may enable others), with FRR's own all_start
#      (`watchfrr.sh start all`): each daemon started with `-d`, then a single `vtysh -b` that
#      configures them all from the integrated /etc/frr/frr.conf;
#   2. watchfrr with frrinit.sh, which finds them running and supervises them.
# Letting watchfrr start the daemons (frrinit.sh alone) runs a job per daemon, each a bash that
# sources frrcommon.sh and a `vtysh -b -d DAEMON` that builds vtysh's whole command tree again:
# about 1 s of CPU per router on a machine starting a hundred of them, and the jobs are killed
# and retried when they take longer than watchfrr's timeouts.
#
# Start under load: watchfrr is started with longer start timeouts (nslab-watchfrr, through
# frrinit.sh's watchfrr_wrap, whatever /etc/frr/daemons the node has). watchfrr still gives up
# when no daemon is up within 55 s (fixed in FRR 8.4), and frrinit.sh then still exits 0; so
# success is watchfrr running afterwards. A start that failed is cleaned up (daemons that came up
# late, pending start jobs, pid and vty files) and tried again, NSLAB_FRR_START_ATTEMPTS times in
# all (default 3), before the script exits 1. Each try and its time are logged (`docker logs`).
#
# Supervision: watchfrr restarts a crashed bgpd/zebra by itself. If watchfrr itself disappears,
# this script exits 1 and the container's restart policy (unless-stopped) brings it back.
# SIGTERM/SIGINT (docker stop): stop FRR with frrinit.sh and exit 0 at once.
set -u

log() { echo "nslab-frr: $*" >&2; }

tail_pid=''
stopping=0
on_term() {
  stopping=1
  log "SIGTERM: stopping FRR"
  /usr/lib/frr/frrinit.sh stop >/dev/null 2>&1 || true
  [ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null
  exit 0
}
trap on_term TERM INT

mkdir -p /var/run/frr /var/log/frr
rm -f /var/run/frr/*.pid /var/run/frr/*.vty /var/run/frr/*.sock 2>/dev/null || true
chown -R frr:frr /etc/frr /var/run/frr /var/log/frr
chmod 0750 /etc/frr
if [ ! -s /etc/frr/frr.conf ]; then
  log "warning: /etc/frr/frr.conf is missing or empty; FRR starts without BGP configuration"
fi

# Show FRR's log (frr.conf logs to this file) in `docker logs`.
touch /var/log/frr/frr.log && chown frr:frr /var/log/frr/frr.log
tail -n 0 -F /var/log/frr/frr.log 2>/dev/null &
tail_pid=$!

# Sleep that a SIGTERM interrupts, without a process: `read -t` on a pipe nobody writes to (a
# trapped signal ends the read at once). The loop below wakes every 2 s for the life of the
# container, so it forks nothing: `sleep` + `pgrep` each round cost an idle FRR node ~15 ms of
# CPU a second, more than its daemons.
exec {nap_fd}<> <(:)
pause() {
  read -r -t "$1" -u "$nap_fd" _ || true
}

# Whether watchfrr runs, by its pid file (builtins only).
watchfrr_up() {
  local pid=''
  read -r pid 2>/dev/null < /var/run/frr/watchfrr.pid || true
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# What a failed start left behind, killed outright (a graceful stop can wait minutes under
# load): watchfrr's start jobs first (so that none starts a daemon after this), the daemons that
# came up too late, and their pid/vty files.
clean_failed_start() {
  pkill -KILL -f '^/bin/bash /usr/lib/frr/watchfrr\.sh ' 2>/dev/null
  for d in watchfrr zebra bgpd ripd ripngd ospfd ospf6d isisd babeld pimd pim6d ldpd nhrpd eigrpd sharpd pbrd staticd bfdd fabricd vrrpd pathd; do
    pkill -KILL -x "$d" 2>/dev/null
  done
  rm -f /var/run/frr/*.pid /var/run/frr/*.vty /var/run/frr/*.sock /var/run/frr/watchfrr.started 2>/dev/null
}

nslab-tunnels

export watchfrr_wrap=/usr/local/bin/nslab-watchfrr
attempts=${NSLAB_FRR_START_ATTEMPTS:-3}
attempt=1
while :; do
  t0=$(date +%s)
  # The daemons first, as FRR's own all_start does it: each daemon /etc/frr/daemons enables, with
  # its options, then one `vtysh -b` that gives every daemon its part of frr.conf. `-d` returns
  # once the daemon is ready, however long that takes under load.
  /usr/lib/frr/watchfrr.sh start all >/dev/null
  # Then watchfrr, which finds them running and supervises them (restarting one that crashes).
  /usr/lib/frr/frrinit.sh start
  if pgrep -x watchfrr >/dev/null 2>&1; then
    log "FRR started in $(($(date +%s) - t0)) s (attempt $attempt of $attempts)"
    break
  fi
  [ "$stopping" -eq 1 ] && exit 0
  if [ "$attempt" -ge "$attempts" ]; then
    log "FRR did not start: watchfrr gave up after $(($(date +%s) - t0)) s (attempt $attempt of $attempts); exiting"
    exit 1
  fi
  log "FRR did not start: watchfrr gave up after $(($(date +%s) - t0)) s (attempt $attempt of $attempts); trying again"
  clean_failed_start
  pause $((attempt * 3))
  [ "$stopping" -eq 1 ] && exit 0
  attempt=$((attempt + 1))
done

# bgpd given its configuration: seen on a ring of 60 containers when watchfrr started the daemons
# (each through a job that sent it its part of frr.conf): bgpd up, every other daemon configured,
# "BGP instance not found" for good. So when frr.conf has a `router bgp` and bgpd's running
# configuration has none, it is sent again (up to 3 times). One vtysh (~60 ms of CPU) per start
# when all is well. A daemon that all_start could not start is started by watchfrr's own job
# (which sends it its configuration): checked once those jobs have ended.
for _ in $(seq 1 180); do
  pgrep -f '^/bin/bash /usr/lib/frr/watchfrr\.sh ' >/dev/null 2>&1 || break
  [ "$stopping" -eq 1 ] && exit 0
  pause 1
done
bgpd_configured() {
  grep -q '^router bgp' /etc/frr/frr.conf 2>/dev/null || return 0
  vtysh -d bgpd -c 'show running-config' 2>/dev/null | grep -q '^router bgp'
}
for try in 1 2 3; do
  bgpd_configured && break
  log "bgpd has no BGP configuration after the start: sending frr.conf to bgpd again (try $try of 3)"
  vtysh -b -d bgpd >/dev/null 2>&1
  pause 1
done
bgpd_configured || log "warning: bgpd still has no BGP configuration"

while :; do
  pause 2
  [ "$stopping" -eq 1 ] && break
  if ! watchfrr_up; then
    nslab-held
    log "watchfrr is gone: exiting so that the restart policy restarts the container"
    exit 1
  fi
done
