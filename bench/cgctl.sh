#!/usr/bin/env bash
# cgctl run --memory 64M --pids 64 -- /bin/true against Debian's cgroup-tools
# doing the same: cgcreate a group, cgset its memory and pids limits, cgexec
# /bin/true in it, cgdelete it (issue 4: a ratio of at most 1.0).
#
# The peer is a chain of four commands, so both run as `sh -c '...'` (one dash
# start-up each, the same for both) under hyperfine -N. cgctl does more: it
# joins five v1 trees (memory, pids, cpu, cpuacct, freezer) to report usage,
# where the peer joins two; its report goes to /dev/null like everything else.
set -euo pipefail
BENCH_FLAGS=${BENCH_FLAGS:--N --warmup 10 --runs 100}
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "bench/cgctl.sh: needs root (making cgroups is privileged)" >&2; exit 125; }
for tool in cgcreate cgset cgexec cgdelete; do
  command -v "$tool" >/dev/null || { echo "bench/cgctl.sh: needs $tool (apt-get install cgroup-tools)" >&2; exit 125; }
done

group=boxkit-bench-$$
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
  limits="-r memory.max=64000000 -r pids.max=64"
else
  limits="-r memory.limit_in_bytes=64000000 -r pids.max=64"
fi
trap 'cgdelete -g "memory,pids:/$group" 2>/dev/null || true' EXIT

bench_compare \
  "cgctl run vs cgcreate+cgset+cgexec+cgdelete: a limited group for /bin/true" 1.0 \
  "cgctl run" "sh -c '$BIN/cgctl run --memory 64M --pids 64 -- /bin/true'" \
  "cgroup-tools" "sh -c 'cgcreate -g memory,pids:/$group && cgset $limits $group && cgexec -g memory,pids:/$group /bin/true && cgdelete -g memory,pids:/$group'"
