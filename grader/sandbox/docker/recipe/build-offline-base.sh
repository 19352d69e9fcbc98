#!/usr/bin/env bash
# Build the runtime image's base without a container registry:
#   debootstrap a minimal Debian bookworm (python3 3.11 + venv) and `docker import` it.
#
#   usage: sudo grader/sandbox/docker/recipe/build-offline-base.sh [IMAGE_NAME]      (default dl-grader-base:bookworm)
#   env:   DEBIAN_MIRROR  apt mirror (default http://deb.debian.org/debian)
#          FORCE=1        rebuild even if the image exists
#
# Needs root (debootstrap), the `debootstrap` package, a running Docker engine and an apt
# mirror (an internal mirror or proxy is enough; no registry). About a minute.
set -euo pipefail

name=${1:-dl-grader-base:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=python3,python3-venv

if [[ "${FORCE:-0}" != 1 ]] && docker image inspect "$name" >/dev/null 2>&1; then
    echo "base image $name exists (FORCE=1 to rebuild)"
    exit 0
fi
if [[ $(id -u) != 0 ]]; then
    echo "error: debootstrap needs root: sudo $0 $*" >&2
    exit 1
fi
command -v debootstrap >/dev/null || { echo "error: apt-get install debootstrap" >&2; exit 1; }

root=$(mktemp -d /var/tmp/dl-grader-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT

echo "debootstrap bookworm ($mirror) into $root ..."
debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" >"$root.log" 2>&1 \
    || { tail -20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
# Smaller image, no stale package lists or caches.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*

tar --numeric-owner -C "$root" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    - "$name" >/dev/null
echo "built base image $name"
