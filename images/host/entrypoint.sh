#!/bin/bash
# Entrypoint of the netstream-lab host image (PID 1).
#
# Each time the container starts:
#   /etc/nslab/loopback  (optional) CIDRs, one per line -> `ip addr add CIDR dev lo`
#   /etc/nslab/gateway   (optional) one IPv4 address    -> `ip route replace default via GW`
#                        retried for up to ~20 s, until an interface reaching GW is up.
# Then it sleeps until SIGTERM/SIGINT (docker stop), which makes it exit 0 at once.
set -u

log() { echo "nslab-host: $*" >&2; }

sleep_pid=''
on_term() {
  [ -n "$sleep_pid" ] && kill "$sleep_pid" 2>/dev/null
  exit 0
}
trap on_term TERM INT

ipv4_re='^([0-9]{1,3}\.){3}[0-9]{1,3}$'
cidr4_re='^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$'

nslab-tunnels

if [ -f /etc/nslab/loopback ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    cidr="${line%%#*}"
    cidr="${cidr//[[:space:]]/}"
    [ -z "$cidr" ] && continue
    if [[ ! "$cidr" =~ $cidr4_re ]]; then
      log "ignoring invalid loopback CIDR: $cidr"
      continue
    fi
    # `replace` keeps this idempotent across `docker restart`.
    if ip addr replace "$cidr" dev lo; then
      log "added $cidr to lo"
    else
      log "could not add $cidr to lo"
    fi
  done < /etc/nslab/loopback
fi

if [ -f /etc/nslab/gateway ]; then
  gw="$(head -n 1 /etc/nslab/gateway)"
  gw="${gw//[[:space:]]/}"
  if [[ ! "$gw" =~ $ipv4_re ]]; then
    log "ignoring invalid gateway: $gw"
  else
    ok=0
    for _ in $(seq 1 40); do
      if ip route replace default via "$gw" 2>/dev/null; then
        ok=1
        break
      fi
      sleep 0.5
    done
    if [ "$ok" -eq 1 ]; then
      log "default route via $gw"
    else
      log "could not install default route via $gw (no interface reaches it)"
    fi
  fi
fi

while :; do
  sleep 3600 &
  sleep_pid=$!
  wait "$sleep_pid"
done
