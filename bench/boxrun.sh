#!/usr/bin/env bash
# boxrun run --rm IMAGE /bin/true (the image in the store, its layers cached)
# against runc run and crun run of the same image as an OCI bundle
# (imgpack bundle, the command set to /bin/true). Issue 9's targets: faster
# than runc, and within 1.5x of crun.
#
# What each side does per run. boxrun: bash starts and reads the script,
# sources its notes of the image (no imgpack, no jq once the image is known),
# makes the box's notes directory (mkdir, a bash builtin where Debian's
# bash-builtins is installed), then forks the chain and waits: cgctl (a
# cgroup: memory, pids, cpu, cpuacct, freezer) -> nsjail-lite (pid, uts,
# ipc, mount and net namespaces; a record of the box's name) -> chrootify (a
# tmpfs for the writable layer, an overlay of the cached layer on it, /proc,
# a small /dev, pivot_root) -> /bin/true; then rm -rf of the notes. runc and crun: read config.json, make a cgroup (every v1
# controller) and the same five namespaces, mount /proc, /dev, /dev/pts,
# /dev/shm, /dev/mqueue and /sys, mask and make read-only parts of /proc,
# drop capabilities, pivot_root into the bundle's plain rootfs directory (no
# overlay, no writable layer: that is containerd's work before runc runs),
# keep a state directory (--root, on a tmpfs as /run is), delete it at the end. Neither
# side is given work the other skips; what differs is listed above.
set -euo pipefail
BENCH_FLAGS=${BENCH_FLAGS:--N --warmup 5 --runs 40}
ROUNDS=${ROUNDS:-3}
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "bench/boxrun.sh: needs root (mounts, namespaces, cgroups)" >&2; exit 125; }
for tool in runc crun hyperfine jq; do
  command -v "$tool" >/dev/null || { echo "bench/boxrun.sh: needs $tool (apt-get install $tool)" >&2; exit 125; }
done
# The whole benchmark runs in a private mount namespace, for two mounts.
# crun refuses this machine's hybrid cgroups (v1 plus an empty cgroup2 tree
# at /sys/fs/cgroup/unified): without that tree all three sides see plain
# v1, which is what cgctl and runc use here anyway. And each side's runtime
# state (runc's and crun's --root, boxkit's run directory) goes on a tmpfs,
# as /run is on a usual machine (not on this one: here /run is on the disk,
# and a disk's inode allocation after many deletes costs a run 0.1 to 0.3 ms).
if [ -z "${BOXRUN_BENCH_NS:-}" ]; then
  exec env BOXRUN_BENCH_NS=1 unshare -m --propagation private bash "$0" "$@"
fi
if awk '$5 == "/sys/fs/cgroup/unified" {f=1} END {exit !f}' /proc/self/mountinfo; then umount /sys/fs/cgroup/unified; fi
BOXRUN=$(cd "$(dirname "$0")/.." && pwd)/examples/boxrun
export PATH=$BIN:$PATH

work=$(mktemp -d /tmp/boxkit-bench-boxrun.XXXXXX)
mkdir "$work/run" && mount -t tmpfs -o mode=0755 bench-run "$work/run"
export BOXKIT_STORE=$work/store BOXKIT_LAYERS=$work/layers BOXKIT_RUN=$work/run/boxkit
runc() { command runc --root "$work/run/runc" "$@"; }
crun() { command crun --root "$work/run/crun" "$@"; }
# (set +e: a step that fails must not skip the rest. crun also makes a group,
# with a cgroup.procs file in it, in the hidden cgroup2 mount point, which
# its delete leaves: that is a plain tmpfs directory here.)
trap 'set +e; runc delete -f "bench-runc-$$" 2>/dev/null; crun delete -f "bench-crun-$$" 2>/dev/null
      rm -rf "/sys/fs/cgroup/unified/bench-crun-$$"; umount "$work/run"; rm -rf "$work"' EXIT

# One busybox image; its layer cached; one bundle of it for runc and crun.
mkdir -p "$work/rootfs/bin"
cp /bin/busybox "$work/rootfs/bin/"
for app in $(/bin/busybox --list); do [ "$app" = busybox ] || ln -s busybox "$work/rootfs/bin/$app"; done
imgpack build "$work/rootfs" --tag bench/busybox:1 --cmd '["/bin/sh"]' >/dev/null
"$BOXRUN" run --rm bench/busybox:1 /bin/true
imgpack bundle bench/busybox:1 "$work/bundle" >/dev/null
jq '.process.args = ["/bin/true"] | .process.terminal = false' "$work/bundle/config.json" > "$work/config.json"
mv "$work/config.json" "$work/bundle/config.json"
runc run --bundle "$work/bundle" "bench-runc-$$"
crun run --bundle "$work/bundle" "bench-crun-$$"

# The set-up wrote megabytes: write them out now, not in the middle of the
# first timings (the kernel flushes dirty pages up to 30 s later).
sync

# The same chain of tools boxrun runs, without the script around it: how much
# of boxrun's time is the tools', how much bash's (start-up, parsing, the
# notes' mkdir and rm -rf, the supervising fork).
lower=$(imgpack layers bench/busybox:1 --lowerdirs)
mkdir -p "$work/root"
chain="cgctl -q run --name bench-chain-$$ -- \
  nsjail-lite --pid --uts --ipc --mount --net --hostname bench --name bench-chain-$$ -- \
  chrootify --pivot --proc --dev --overlay $lower --upper-tmpfs --clear-env -e PATH=/bin -e HOSTNAME=bench $work/root -- \
  /bin/true"
$chain

bench_compare "boxrun run --rm vs runc run: an image's /bin/true in a new box (target: faster)" 1.0 \
  "boxrun run --rm" "$BOXRUN run --rm bench/busybox:1 /bin/true" \
  "runc run" "runc --root $work/run/runc run --bundle $work/bundle bench-runc-$$"
bench_compare "boxrun run --rm vs crun run: the same (target: within 1.5x)" 1.5 \
  "boxrun run --rm" "$BOXRUN run --rm bench/busybox:1 /bin/true" \
  "crun run" "crun --root $work/run/crun run --bundle $work/bundle bench-crun-$$"
bench_compare "the tools alone (cgctl -> nsjail-lite -> chrootify, as boxrun runs them) vs crun run (within 1.5x?)" 1.5 \
  "the chain" "$chain" \
  "crun run" "crun --root $work/run/crun run --bundle $work/bundle bench-crun-$$"
bench_compare "boxrun run --rm vs the tools alone: what the script adds" 1.0 \
  "boxrun run --rm" "$BOXRUN run --rm bench/busybox:1 /bin/true" \
  "the chain" "$chain"
