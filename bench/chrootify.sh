#!/usr/bin/env bash
# chrootify ROOT -- /bin/true against chroot(8) ROOT /bin/true (issue 2:
# a ratio of at most 1.1). Both exec a static busybox true in the same root.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "bench/chrootify.sh: needs root (chroot is privileged)" >&2; exit 125; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin"
cp /bin/busybox "$root/bin/"
ln -s busybox "$root/bin/true"

bench_compare "chrootify vs chroot(8): enter a root and exec /bin/true" 1.1 \
  chrootify "$BIN/chrootify $root -- /bin/true" \
  "chroot(8)" "chroot $root /bin/true"
