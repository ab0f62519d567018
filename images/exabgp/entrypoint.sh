#!/bin/bash
# Entrypoint of the netstream-lab ExaBGP image (PID 1).
#
# Each time the container starts: recreate the API fifos that exabgpcli talks through
# (/run/exabgp/exabgp.{in,out}, named by /etc/exabgp/exabgp.env), then run
# `exabgp /etc/exabgp/exabgp.conf` in the foreground (as a child of this script).
#
# Supervision: if exabgp exits, this script exits with its status (1 if it was 0), and the
# container's restart policy (unless-stopped) brings it back.
# SIGTERM/SIGINT (docker stop): forward TERM to exabgp, wait briefly, exit 0.
set -u

log() { echo "nslab-exabgp: $*" >&2; }

conf=/etc/exabgp/exabgp.conf
pipe_dir=/run/exabgp
exa_pid=''

on_term() {
  log "SIGTERM: stopping exabgp"
  if [ -n "$exa_pid" ]; then
    kill -TERM "$exa_pid" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      kill -0 "$exa_pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$exa_pid" 2>/dev/null
  fi
  exit 0
}
trap on_term TERM INT

if [ ! -s "$conf" ]; then
  log "error: $conf is missing or empty"
  exit 1
fi

mkdir -p "$pipe_dir"
rm -f "$pipe_dir/exabgp.in" "$pipe_dir/exabgp.out"
mkfifo -m 0600 "$pipe_dir/exabgp.in" "$pipe_dir/exabgp.out"

nslab-tunnels
exabgp "$conf" &
exa_pid=$!
log "exabgp started (pid $exa_pid)"

# `wait` returns early when a trapped signal arrives; loop until exabgp itself has exited.
while kill -0 "$exa_pid" 2>/dev/null; do
  wait "$exa_pid"
  status=$?
done
wait "$exa_pid" 2>/dev/null
status=${status:-1}
[ "$status" -eq 0 ] && status=1
log "exabgp exited (status $status)"
nslab-held
exit "$status"
