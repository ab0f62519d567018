#!/usr/bin/env bash
# bootstrap.sh <image-ref>
#
# Builds the local base image every lab image starts FROM, without pulling from any registry:
# debootstrap a Debian 12 (bookworm) minbase tree into a temporary directory, then
# `docker import` it as <image-ref>.
#
# Needs: root, the `docker` client talking to a running engine, and `debootstrap`
# (netstream-lab installs it with `apt-get install -y debootstrap` before calling this script).
# The Debian mirror can be overridden with NSLAB_DEBIAN_MIRROR. Takes about 50 s.
set -euo pipefail

if [[ $# -ne 1 || -z "$1" ]]; then
  echo "usage: $0 <image-ref>   (e.g. $0 nslab-scratch-base:bookworm)" >&2
  exit 2
fi
image_ref="$1"
mirror="${NSLAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "bootstrap.sh: debootstrap is not installed (apt-get install -y debootstrap)" >&2
  exit 127
fi
if ! command -v docker >/dev/null 2>&1; then
  echo "bootstrap.sh: the docker client is not installed" >&2
  exit 127
fi
if [[ "$(id -u)" -ne 0 ]]; then
  echo "bootstrap.sh: debootstrap must run as root" >&2
  exit 1
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/nslab-bootstrap.XXXXXX")"
cleanup() { rm -rf --one-file-system -- "$workdir"; }
trap cleanup EXIT

echo "bootstrap.sh: debootstrap bookworm (minbase) into $workdir" >&2
debootstrap --variant=minbase bookworm "$workdir/rootfs" "$mirror" >&2

# Keep the image small: no apt lists or caches.
rm -rf "$workdir/rootfs/var/lib/apt/lists/"* "$workdir/rootfs/var/cache/apt/"*.bin

echo "bootstrap.sh: importing as $image_ref" >&2
tar -C "$workdir/rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' \
  - "$image_ref"
