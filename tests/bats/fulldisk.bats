#!/usr/bin/env bats
# A full disk (issue 10): the store, the layer cache or an unpack's target
# on a small filesystem (an 8 MiB tmpfs, or ext4 on a loop device) that a
# 12 MB image does not fit in. Every tool must fail with exit 125 and a
# message naming ENOSPC and the place that is full, and leave what it was
# given as it was: the store byte-for-byte the same (same tags, same blobs),
# `imgpack fsck` clean, no temporary file, no space still in use.

load helpers

setup_file() {
  [ "$(id -u)" -eq 0 ] || return 0
  export ROOT=$BATS_FILE_TMPDIR/rootfs
  make_busybox_root "$ROOT"
  export BIG_DIR=$BATS_FILE_TMPDIR/big
  mkdir -p "$BIG_DIR"; cp -a "$ROOT/." "$BIG_DIR/"
  head -c 12000000 /dev/urandom > "$BIG_DIR/random"   # random: gzip cannot shrink it
  export BIG_STORE=$BATS_FILE_TMPDIR/big-store
  BOXKIT_STORE=$BIG_STORE imgpack build "$BIG_DIR" --tag full/big:1 >/dev/null
  BOXKIT_STORE=$BIG_STORE imgpack build "$ROOT" --tag full/tiny:1 >/dev/null
  BOXKIT_STORE=$BIG_STORE imgpack save full/big:1 -o "$BATS_FILE_TMPDIR/big.tar"
  command -v docker-registry >/dev/null || return 0
  . "$BATS_TEST_DIRNAME/../regpull/registry.bash"
  export REG=127.0.0.1:$(free_port)
  registry_start "$BATS_FILE_TMPDIR/reg" "${REG#*:}" 3>&-
  BOXKIT_STORE=$BIG_STORE regpull push full/big:1 "$REG/full/big:1" >/dev/null 2>&1
  BOXKIT_STORE=$BIG_STORE regpull push full/tiny:1 "$REG/full/tiny:1" >/dev/null 2>&1
}

teardown_file() {
  [ -n "${REG:-}" ] || return 0
  . "$BATS_TEST_DIRNAME/../regpull/registry.bash"
  registry_stop "$BATS_FILE_TMPDIR/reg"
}

setup() {
  require_root
  cd "$BATS_TEST_TMPDIR"
  mkdir small
}

teardown() {
  local m
  # Innermost first; a loop device made by mount -o loop goes with its mount (autoclear).
  for m in $(mounts_under "$BATS_TEST_TMPDIR" | sort -r); do umount "$m" || umount -l "$m"; done
}

# small_tmpfs: an 8 MiB tmpfs on ./small.
small_tmpfs() { mount -t tmpfs -o size=8m,mode=0700 boxkit-fulldisk "$PWD/small"; }

# small_ext4: a 16 MiB ext4 (no blocks reserved for root) on a loop device on ./small.
small_ext4() {
  require_cmd mkfs.ext4
  truncate -s 16M disk.img
  mkfs.ext4 -q -F -m 0 disk.img
  mount -o loop disk.img "$PWD/small"
}

# used DIR: the KiB in use on DIR's filesystem, once ext4 has committed what was freed.
used() { sync -f "$1"; df --output=used "$1" | tail -1 | tr -d ' '; }

# A store on the small filesystem that already holds an image, and its
# picture: every path, mode, size and byte (tree_digest), and the space used.
small_store() {
  export BOXKIT_STORE=$PWD/small/store BOXKIT_LAYERS=$PWD/small/layers
  bk_run 0 imgpack build "$ROOT" --tag full/before:1
  BEFORE=$(tree_digest "$BOXKIT_STORE")
  USED=$(used small)
}

# What a full disk must leave: the same store, fsck clean with nothing left
# over, no temporary layer, the space given back.
store_as_it_was() {
  assert_equal "$(tree_digest "$BOXKIT_STORE")" "$BEFORE"
  bk_run 0 imgpack fsck --json
  echo "$output" | jq -e '.clean and .leftovers == [] and .notes == [] and .unreferenced_blobs == 0 and .checked.tags == 1' >/dev/null
  assert_equal "$(imgpack ls --json | jq -r '[.[].reference] | join(",")')" "docker.io/full/before:1"
  assert_equal "$(ls -A "$BOXKIT_LAYERS" 2>/dev/null | grep -c '^\.tmp-')" 0
  assert_equal "$(used small)" "$USED"
}

# The message: the call, ENOSPC, and a hint naming the place that is full.
says_enospc() { # PLACE-REGEX
  assert_regex "$stderr" ': No space left on device \(ENOSPC\)'
  assert_regex "$stderr" "(imgpack|regpull): hint: $1.* is on a full filesystem"
}

@test "fulldisk: regpull of an image larger than the store (tmpfs): ENOSPC, 125, the store as it was; a small pull still fits" {
  require_cmd docker-registry
  [ -n "${REG:-}" ] || skip "the registry did not start"
  small_tmpfs
  small_store
  bk_run 125 regpull --quiet "$REG/full/big:1"
  says_enospc "the image store"
  store_as_it_was
  bk_run 0 regpull --quiet "$REG/full/tiny:1"
  bk_run 0 imgpack fsck -q
}

@test "fulldisk: regpull into a store on ext4 (a loop device): ENOSPC, 125, the store as it was" {
  require_cmd docker-registry
  [ -n "${REG:-}" ] || skip "the registry did not start"
  small_ext4
  small_store
  bk_run 125 regpull --quiet --jobs 1 "$REG/full/big:1"
  bk_run 125 regpull --quiet "$REG/full/big:1"
  says_enospc "the image store"
  store_as_it_was
}

@test "fulldisk: imgpack build of a directory larger than the store: ENOSPC, 125, the store as it was" {
  small_tmpfs
  small_store
  bk_run 125 imgpack build "$BIG_DIR" --tag full/big:1
  says_enospc "the image store"
  store_as_it_was
  bk_run 125 imgpack build "$BIG_DIR" --tag full/big:1 --compress none
  store_as_it_was
}

@test "fulldisk: imgpack load of an archive larger than the store: ENOSPC, 125, not one blob of it stored" {
  small_tmpfs
  small_store
  bk_run 125 imgpack load -i "$BATS_FILE_TMPDIR/big.tar"
  says_enospc "the image store"
  store_as_it_was
}

@test "fulldisk: imgpack unpack into a full target: ENOSPC, 125, the target as it was (gone if new, empty if empty)" {
  small_tmpfs
  export BOXKIT_STORE=$BIG_STORE BOXKIT_LAYERS=$PWD/layers
  store_before=$(tree_digest "$BIG_STORE")
  used=$(used small)
  bk_run 125 imgpack unpack full/big:1 small/new
  says_enospc "the target small/new"
  assert_file_not_exists small/new
  mkdir small/empty
  bk_run 125 imgpack unpack full/big:1 small/empty
  assert_equal "$(ls -A small/empty)" ""
  bk_run 125 imgpack bundle full/big:1 small/bundle
  says_enospc "the target small/bundle"
  assert_equal "$(ls -A small)" "empty"
  assert_equal "$(used small)" "$used"
  assert_equal "$(tree_digest "$BIG_STORE")" "$store_before"
  bk_run 0 imgpack unpack full/tiny:1 small/tiny   # what fits still unpacks
}

@test "fulldisk: imgpack layers --unpack into a full layer cache: ENOSPC, 125, no partial layer; ext4 too" {
  export BOXKIT_STORE=$BIG_STORE BOXKIT_LAYERS=$PWD/small/layers
  for fs in tmpfs ext4; do
    if [ "$fs" = tmpfs ]; then small_tmpfs; else command -v mkfs.ext4 >/dev/null || continue; small_ext4; fi
    bk_run 0 imgpack layers full/tiny:1 --unpack
    before=$(tree_digest "$BOXKIT_LAYERS")
    used=$(used small)
    bk_run 125 imgpack layers full/big:1 --lowerdirs
    says_enospc "the layer cache"
    assert_equal "$output" ""
    assert_equal "$(tree_digest "$BOXKIT_LAYERS")" "$before"
    assert_equal "$(used small)" "$used"
    bk_run 0 imgpack fsck --json
    echo "$output" | jq -e '.clean and .leftovers == [] and .checked.cached_layers == 1' >/dev/null
    umount "$PWD/small"
  done
}

@test "fulldisk: out of inodes while tagging: ENOSPC, 125, the tags as they were; gc takes back what was named" {
  # Blocks to spare, inodes not: with a few more inodes each round, the
  # build runs out first at a blob, then at index.json's temporary copy,
  # then fits. Tags must stay as they were, with no temporary file; blobs
  # named before the tag failed reach no tag, and gc takes them back.
  local n tagging=0
  for n in 9 10 11 12 13 14 15; do
    mount -t tmpfs -o size=64m,nr_inodes=$n,mode=0700 boxkit-fulldisk "$PWD/small"
    if ! BOXKIT_STORE=$PWD/small/store imgpack build "$ROOT" --tag full/before:1 >/dev/null 2>&1; then
      umount "$PWD/small"; continue     # not even the first image fits
    fi
    rm -rf small/store; small_store
    cp -a "$ROOT" other; echo other > other/etc/other
    run --separate-stderr imgpack build other --tag full/other:1
    rm -rf other
    if [ "$status" -eq 0 ]; then umount "$PWD/small"; break; fi
    assert_equal "$status" 125
    says_enospc "the image store"
    [[ $stderr == *"index.json"* ]] && tagging=1
    bk_run 0 imgpack fsck --json
    echo "$output" | jq -e '.clean and .leftovers == [] and .checked.tags == 1' >/dev/null
    assert_equal "$(imgpack ls --json | jq -r '[.[].reference] | join(",")')" "docker.io/full/before:1"
    bk_run 0 imgpack gc
    assert_equal "$(tree_digest "$BOXKIT_STORE")" "$BEFORE"
    umount "$PWD/small"
  done
  assert_equal "$tagging" 1   # one round ran out while writing index.json
}
