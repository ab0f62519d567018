#!/bin/bash
# netstream-lab: kernel routes of a BGP daemon that does not install them itself (GoBGP, OpenBGPD),
# sourced by their entrypoints. The caller sets RT_PROTO (the routes' proto number), RT_METRIC
# and log(). Routes are "prefix -> next hop" associative arrays; what the kernel has is read with
# `ip -4 route show proto $RT_PROTO` and changed with one `ip -force -batch`. Text is split in
# memory (bash reads a pipe one byte per system call with `while read`), never globbed or run.
# test/unit/gobgp-routes.test.ts runs these with a stand-in `ip`.

cidr4_re='^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$'
ipv4_re='^([0-9]{1,3}\.){3}[0-9]{1,3}$'

declare -A failed=()

# The routes of our proto installed now, into the associative array named $1 (prefix -> next
# hop). `ip -4 route show proto 186` prints "PREFIX via NH dev IF metric 20 ..." (host routes
# have no /32); split in memory.
read_installed() {
  local -n into_=$1
  local - IFS routes line prefix
  local -a lines fields
  set -f # split below, never globbed
  routes="$(ip -4 route show proto "$RT_PROTO" 2>/dev/null)"
  IFS=$'\n'
  lines=($routes)
  IFS=' '
  for line in "${lines[@]}"; do
    fields=($line)
    prefix="${fields[0]:-}"
    [ -z "$prefix" ] && continue
    [ "$prefix" = default ] && prefix=0.0.0.0/0
    [[ "$prefix" == */* ]] || prefix="$prefix/32"
    into_["$prefix"]="${fields[2]:-}"
  done
}

# The changes that make the routes in the array named $2 into those in the array named $1
# (prefix -> next hop), given to one `ip -force -batch` (one unreachable next hop must not stop
# the other changes); nothing is run when there is no change. A failing change is logged once.
change_routes() {
  local -n want_=$1 have_=$2
  local prefix batch='' key
  for prefix in "${!want_[@]}"; do
    if [ "${have_[$prefix]:-}" != "${want_[$prefix]}" ]; then
      batch+="route replace $prefix via ${want_[$prefix]} proto $RT_PROTO metric $RT_METRIC"$'\n'
    fi
  done
  for prefix in "${!have_[@]}"; do
    if [ -z "${want_[$prefix]:-}" ]; then
      batch+="route del $prefix proto $RT_PROTO metric $RT_METRIC"$'\n'
    fi
  done
  [ -n "$batch" ] || return 0
  if ! printf '%s' "$batch" | ip -force -batch - 2>/tmp/nslab-route-errors; then
    key="$(cat /tmp/nslab-route-errors)"
    if [ -z "${failed[$key]:-}" ]; then
      failed["$key"]=1
      log "route sync errors: $key"
    fi
  fi
}

# The kernel made to hold the routes in the array named $1, against what it has installed now.
install_routes() {
  declare -A installed_=()
  read_installed installed_
  change_routes "$1" installed_
}
