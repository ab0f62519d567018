#!/bin/bash
# Entrypoint of the netstream-lab FRR image (PID 1).
#
# Each time the container starts: give /etc/frr to frr:frr (netstream-lab writes frr.conf as root),
# drop pid/vty files a previous run left behind (a `docker restart` keeps the filesystem and
# reuses pids), then start FRR with frrinit.sh (watchfrr + zebra + bgpd + staticd, all reading
# the integrated /etc/frr/frr.conf).
#
# Supervision: watchfrr restarts a crashed bgpd/zebra by itself. If watchfrr itself disappears,
# this script exits 1 and the container's restart policy (unless-stopped) brings it back.
# SIGTERM/SIGINT (docker stop): stop FRR with frrinit.sh and exit 0 at once.
set -u

log() { echo "nslab-frr: $*" >&2; }

tail_pid=''
sleep_pid=''
stopping=0
on_term() {
  stopping=1
  log "SIGTERM: stopping FRR"
  /usr/lib/frr/frrinit.sh stop >/dev/null 2>&1 || true
  [ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null
  [ -n "$sleep_pid" ] && kill "$sleep_pid" 2>/dev/null
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

nslab-tunnels
if ! /usr/lib/frr/frrinit.sh start; then
  log "frrinit.sh start failed"
  exit 1
fi
log "FRR started"

while :; do
  sleep 2 &
  sleep_pid=$!
  wait "$sleep_pid"
  sleep_pid=''
  [ "$stopping" -eq 1 ] && break
  if ! pgrep -x watchfrr >/dev/null 2>&1; then
    nslab-held
    log "watchfrr is gone: exiting so that the restart policy restarts the container"
    exit 1
  fi
done
