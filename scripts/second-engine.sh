#!/usr/bin/env bash
# A second Docker engine on this machine, in its own network namespace (MACHINE.md), for labs that
# span engines: `up` starts it (idempotent) and prints its DOCKER_HOST; `down` stops it and removes
# the namespace and link. Its data folder stays, so its images survive to the next run.
# Needs root. Everything but the DOCKER_HOST line goes to stderr.
set -euo pipefail
ns=nslab-e2
sock=/var/run/nslab-e2.sock
pidfile=/var/run/nslab-e2.pid
log=/var/log/nslab-e2-dockerd.log
host_ip=169.254.77.1
ns_ip=169.254.77.2

up() {
  if DOCKER_HOST=unix://$sock docker info >/dev/null 2>&1; then echo "unix://$sock"; return; fi
  ip netns list | grep -qw "$ns" || ip netns add "$ns"
  if ! ip link show "$ns-a" >/dev/null 2>&1; then
    ip link add "$ns-a" type veth peer name "$ns-b"
    ip link set "$ns-b" netns "$ns"
    ip addr add "$host_ip/30" dev "$ns-a"
    ip link set "$ns-a" up
    nsenter --net=/var/run/netns/$ns sh -c "ip addr add $ns_ip/30 dev $ns-b; ip link set $ns-b up; ip link set lo up"
  fi
  mkdir -p /var/lib/nslab-e2 /var/run/nslab-e2
  # nsenter, not `ip netns exec`: the latter remounts /sys and dockerd then misses the cgroups.
  nohup nsenter --net=/var/run/netns/$ns dockerd --data-root /var/lib/nslab-e2 --exec-root /var/run/nslab-e2 \
    -H "unix://$sock" --pidfile "$pidfile" --bridge none --iptables=false >"$log" 2>&1 &
  for _ in $(seq 1 60); do
    if DOCKER_HOST=unix://$sock docker info >/dev/null 2>&1; then echo "unix://$sock"; return; fi
    sleep 1
  done
  echo "the second engine did not answer within 60 s; last lines of $log:" >&2
  tail -n 20 "$log" >&2
  exit 1
}

down() {
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  ip link del "$ns-a" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  address) echo "$host_ip $ns_ip" ;;
  *) echo "usage: $0 up|down|address" >&2; exit 2 ;;
esac
