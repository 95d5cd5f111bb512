#!/usr/bin/env bats
# Faults (issue 10): SIGKILL each tool at each step it has, then check that
# nothing is left behind. Every kernel-level step of every tool goes through
# bk::explain(), which is also a fault point: with BOXKIT_FAULT_TOOL=NAME and
# BOXKIT_FAULT_KILL_STEP=N the tool NAME dies by SIGKILL just before its Nth
# step (lib/explain.cpp). A first narrated run counts the steps; then the tool
# is killed before each of them in turn (at most MAX_KILLS, evenly spread).

load helpers

MAX_KILLS=${MAX_KILLS:-24}

setup_file() {
  export ROOT=$BATS_FILE_TMPDIR/rootfs
  make_busybox_root "$ROOT"
}

teardown() {
  # Whatever a failed assertion skipped: the netfwd test's namespace.
  if [ -n "${FAULT_NS:-}" ]; then
    netfwd unlink --netns "/run/netns/$FAULT_NS" >/dev/null 2>&1 || true
    netfwd ls >/dev/null 2>&1 || true
    ip netns del "$FAULT_NS" 2>/dev/null || true
  fi
}

setup() {
  require_root
  cd "$BATS_TEST_TMPDIR"
  export BOXKIT_RUN=$BATS_TEST_TMPDIR/run BOXKIT_STORE=$BATS_TEST_TMPDIR/store BOXKIT_LAYERS=$BATS_TEST_TMPDIR/layers
}

# steps TOOL CMD...: how many steps TOOL narrates while running CMD.
steps() {
  local tool=$1; shift
  BOXKIT_EXPLAIN=1 timeout 60 "$@" 2>"$BATS_TEST_TMPDIR/narration" >/dev/null || true
  grep -c "^$tool: explain:" "$BATS_TEST_TMPDIR/narration" || true
}

# kill_points N: the steps to kill at, at most MAX_KILLS of 1..N.
kill_points() {
  local n=$1
  if [ "$n" -le "$MAX_KILLS" ]; then seq 1 "$n"; return; fi
  awk -v n="$n" -v k="$MAX_KILLS" 'BEGIN { for (i = 0; i < k; i++) print int(1 + i * (n - 1) / (k - 1)) }' | uniq
}

# killed_at TOOL STEP CMD...: run CMD with TOOL killed before its STEPth step.
killed_at() {
  local tool=$1 step=$2; shift 2
  BOXKIT_FAULT_TOOL=$tool BOXKIT_FAULT_KILL_STEP=$step timeout 60 "$@" >/dev/null 2>&1 || true
}

# Gone within a few seconds: nothing matching the pattern runs.
none_running() {
  local i
  for i in $(seq 50); do
    pgrep -f "$1" >/dev/null || return 0
    sleep 0.1
  done
  echo "still running: $(pgrep -af "$1")" >&2
  return 1
}

# The store passes `imgpack fsck`: every blob matches its name, index.json
# and oci-layout are valid, and every tag resolves to a whole image (manifest,
# config and layers there, each as large as its descriptor says); the layer
# cache holds only directories. A temporary file a killed writer left is a
# left-over, not damage: fsck lists it, gc removes it (see no_leftovers).
store_ok() {
  local store=$1
  [ -d "$store" ] || return 0
  BOXKIT_STORE=$store imgpack fsck -q || { echo "imgpack fsck found problems in $store" >&2; return 1; }
}

# What killed writers left, one path a line (empty when nothing).
leftovers() {
  BOXKIT_STORE=$1 imgpack fsck --json | jq -r '.leftovers[].subject'
}

# A killed run may leave named temporaries: a copy of index.json or
# oci-layout (an atomic replace needs a name to rename), or a layer being
# unpacked in the cache; never part of a blob (O_TMPFILE has no name until
# the blob is whole). gc removes them all.
no_leftovers() {
  local store=$1
  [ -d "$store" ] || return 0
  assert_equal "$(leftovers "$store" | grep -c /blobs/)" 0
  BOXKIT_STORE=$store imgpack gc >/dev/null
  assert_equal "$(leftovers "$store")" ""
}

@test "faults: store_ok fails on a damaged store (a flipped byte, a missing blob, a dangling tag)" {
  require_cmd imgpack
  mkdir -p src; cp -a "$ROOT/." src/
  bk_run 0 imgpack build src --tag faults/check:1
  store_ok "$BOXKIT_STORE"
  cp -a "$BOXKIT_STORE" pristine
  layer=$(imgpack inspect faults/check:1 --json | jq -r '.layers[0].digest')
  blob=$BOXKIT_STORE/blobs/sha256/${layer#sha256:}
  flip_byte "$blob" 1000
  run store_ok "$BOXKIT_STORE"
  assert_failure
  assert_output --partial "does not match its name"
  rm -rf "$BOXKIT_STORE"; cp -a pristine "$BOXKIT_STORE"; rm "$blob"
  run store_ok "$BOXKIT_STORE"
  assert_failure
  assert_output --partial "is missing"
  rm -rf "$BOXKIT_STORE"; cp -a pristine "$BOXKIT_STORE"
  imgpack rm faults/check:1 >/dev/null && imgpack gc >/dev/null
  cp pristine/index.json "$BOXKIT_STORE/index.json"   # the tag, its image gone
  run store_ok "$BOXKIT_STORE"
  assert_failure
  rm -rf "$BOXKIT_STORE"; cp -a pristine "$BOXKIT_STORE"
  store_ok "$BOXKIT_STORE"
}

@test "faults: the fault point kills only the named tool, at the named step" {
  n=$(steps chrootify chrootify "$ROOT" -- /bin/true)
  [ "$n" -ge 3 ]
  BOXKIT_FAULT_TOOL=chrootify BOXKIT_FAULT_KILL_STEP=1 run chrootify "$ROOT" -- /bin/true
  assert_equal "$status" 137
  BOXKIT_FAULT_TOOL=other BOXKIT_FAULT_KILL_STEP=1 run chrootify "$ROOT" -- /bin/true
  assert_equal "$status" 0
}

@test "faults: chrootify killed at any step leaves no mount behind" {
  mkdir vol
  cmd=(unshare -m chrootify --pivot --proc --dev --bind "$PWD/vol:/vol" --tmpfs /scratch "$ROOT" -- /bin/true)
  n=$(steps chrootify "${cmd[@]}")
  [ "$n" -ge 10 ]
  for k in $(kill_points "$n"); do
    killed_at chrootify "$k" "${cmd[@]}"
    assert_equal "$(mounts_under "$ROOT")" ""
  done
  bk_run 0 "${cmd[@]}"
}

@test "faults: nsjail-lite killed at any step leaves no process, and its name free" {
  require_cmd nsjail-lite
  cmd=(nsjail-lite --name faulty --pid --uts --ipc --mount --net -- /bin/sleep 987651)
  n=$(BOXKIT_EXPLAIN=1 timeout 60 nsjail-lite --name counting --pid --uts --ipc --mount --net -- /bin/true 2>&1 >/dev/null | grep -c '^nsjail-lite: explain:')
  [ "$n" -ge 5 ]
  for k in $(kill_points "$n"); do
    # Past the supervisor's own steps the box runs; SIGKILL from timeout is then the fault.
    BOXKIT_FAULT_TOOL=nsjail-lite BOXKIT_FAULT_KILL_STEP=$k timeout -s KILL 2 "${cmd[@]}" >/dev/null 2>&1 || true
    none_running "sleep 987651"
    # A stale record never blocks the name.
    bk_run 0 nsjail-lite --name faulty --pid -- /bin/true
  done
}

@test "faults: cgctl run killed at any step: the command dies and gc leaves no group" {
  require_cmd cgctl
  name=faults-$$
  cmd=(cgctl run --name "$name" --memory 64Mi --pids 64 -- /bin/sleep 987652)
  n=$(steps cgctl cgctl run --name "$name" --memory 64Mi --pids 64 -- /bin/true)
  [ "$n" -ge 3 ]
  for k in $(kill_points "$n"); do
    BOXKIT_FAULT_TOOL=cgctl BOXKIT_FAULT_KILL_STEP=$k timeout -s KILL 2 "${cmd[@]}" >/dev/null 2>&1 || true
    none_running "sleep 987652"
    # What a killed run leaves, gc (transient groups) or rm (a named one)
    # removes; rm without --force: the group must already be empty.
    cgctl gc >/dev/null 2>&1 || true
    if cgctl ls --json | jq -r '.. | .name? // empty' | grep -qx "$name"; then
      bk_run 0 cgctl rm "$name"
    fi
    run bash -c "cgctl ls --json | jq -r '.. | .name? // empty' | grep -cx '$name'"
    assert_output "0"
  done
}

@test "faults: imgpack build and unpack killed at any step: the store stays whole, no partial layer" {
  require_cmd imgpack
  mkdir -p src/etc; cp -a "$ROOT/." src/; echo v1 > src/etc/version
  bk_run 0 imgpack build src --tag faults/base:1
  echo v2 > src/etc/version
  n=$(steps imgpack imgpack build src --tag faults/app:1)
  [ "$n" -ge 2 ]
  for k in $(kill_points "$n"); do
    killed_at imgpack "$k" imgpack build src --tag faults/app:1
    store_ok "$BOXKIT_STORE"
  done
  bk_run 0 imgpack build src --tag faults/app:1
  store_ok "$BOXKIT_STORE"
  no_leftovers "$BOXKIT_STORE"
  mkdir fresh && bk_run 0 imgpack unpack faults/app:1 fresh/root
  want=$(tree_digest fresh/root)
  n=$(steps imgpack imgpack layers faults/app:1 --unpack)
  rm -rf "$BOXKIT_LAYERS"
  for k in $(kill_points "$n"); do
    killed_at imgpack "$k" imgpack layers faults/app:1 --unpack
    store_ok "$BOXKIT_STORE"
  done
  # Whatever the kills left, the cache now gives the same tree as a fresh unpack.
  bk_run 0 imgpack layers faults/app:1 --lowerdirs
  mkdir merged; lowers=$output
  bk_run 0 unshare -m chrootify --overlay "$lowers" --upper "$PWD/up" merged -- /bin/cat /etc/version
  assert_output "v2"
  for k in $(kill_points "$(steps imgpack imgpack unpack faults/app:1 "$PWD/count")"); do
    rm -rf out; killed_at imgpack "$k" imgpack unpack faults/app:1 out
  done
  rm -rf out; bk_run 0 imgpack unpack faults/app:1 out
  assert_equal "$(tree_digest out)" "$want"
  store_ok "$BOXKIT_STORE"
  no_leftovers "$BOXKIT_STORE"
}

@test "faults: regpull killed at any step of a pull: the store stays whole, the next pull works" {
  require_cmd regpull
  require_cmd docker-registry
  . "$BATS_TEST_DIRNAME/../regpull/registry.bash"
  reg=127.0.0.1:$(free_port)
  registry_start "$BATS_TEST_TMPDIR/reg" "${reg#*:}" 3>&-
  mkdir -p src; cp -a "$ROOT/." src/; head -c 3000000 /dev/urandom > src/big
  BOXKIT_STORE=$PWD/pushstore imgpack build src --tag faults/pull:1 >/dev/null
  BOXKIT_STORE=$PWD/pushstore regpull push faults/pull:1 "$reg/faults/pull:1" >/dev/null 2>&1
  n=$(steps regpull regpull --quiet "$reg/faults/pull:1")
  rm -rf "$BOXKIT_STORE"
  for k in $(kill_points "$n"); do
    killed_at regpull "$k" regpull --quiet "$reg/faults/pull:1"
    store_ok "$BOXKIT_STORE" || { registry_stop "$BATS_TEST_TMPDIR/reg"; false; }
  done
  bk_run 0 regpull --quiet "$reg/faults/pull:1"
  registry_stop "$BATS_TEST_TMPDIR/reg"
  store_ok "$BOXKIT_STORE"
  no_leftovers "$BOXKIT_STORE"
}

@test "faults: netfwd --mode nat killed at any step: ls clears its rules and links" {
  require_cmd netfwd
  require_cmd nft
  ns=bkfault$$
  export FAULT_NS=$ns
  ip netns add "$ns"
  cmd=(netfwd publish "127.0.0.1:$((20000 + $$ % 10000)):80" --netns "/run/netns/$ns" --mode nat)
  n=$(BOXKIT_EXPLAIN=1 timeout 3 "${cmd[@]}" 2>&1 >/dev/null | grep -c '^netfwd: explain:' || true)
  [ "${n:-0}" -ge 3 ]
  netfwd ls >/dev/null 2>&1 || true
  for k in $(kill_points "${n:-0}"); do
    BOXKIT_FAULT_TOOL=netfwd BOXKIT_FAULT_KILL_STEP=$k timeout -s KILL 2 "${cmd[@]}" >/dev/null 2>&1 || true
    netfwd ls >/dev/null 2>&1 || true
    run bash -c "nft list tables | grep -c boxkit_netfwd"
    assert_output "0"
  done
}
