# Shared by every tests/bats/*.bats file: load it with `load helpers`.
#
#   bk_run STATUS CMD...   run CMD with a timeout, print it, and check that it
#                          exited with STATUS; $output/$stderr/$status are set
#   make_busybox_root DIR  a root filesystem of busybox-static's applets
#   tree_digest DIR        one line that changes if anything under DIR does
#   require_root / require_cmd NAME   skip with the reason when missing

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load /usr/lib/bats/bats-file/load

BOXKIT_BIN=${BOXKIT_BIN:-$BATS_TEST_DIRNAME/../../build/bin}
export PATH=$BOXKIT_BIN:$PATH
unset BOXKIT_EXPLAIN BOXKIT_VERBOSE BOXKIT_QUIET

BK_TIMEOUT=${BK_TIMEOUT:-60}

bk_run() {
  local want=$1; shift
  echo "\$ $*" >&2
  local flag=()
  [ "$want" -eq 127 ] && flag=(-127)   # bats warns about 127 unless told it is meant
  run "${flag[@]}" --separate-stderr timeout --kill-after=5 "$BK_TIMEOUT" "$@"
  if [ "$status" -ne "$want" ]; then
    {
      echo "exit status: $status (wanted $want)"
      echo "--- stdout:"; printf '%s\n' "$output"
      echo "--- stderr:"; printf '%s\n' "$stderr"
    } >&2
    return 1
  fi
}

# flip_byte FILE OFFSET: damage one byte for sure (its bits inverted; a
# byte written over it could already be that byte).
flip_byte() {
  local b; b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  [ -n "$b" ] || { echo "flip_byte: $1 has no byte at $2" >&2; return 1; }
  printf "\\$(printf '%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

make_busybox_root() {
  local root=$1 applet
  mkdir -p "$root/bin" "$root/etc" "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
}

# Paths, types, modes, owners, sizes, link targets and contents.
tree_digest() {
  (cd "$1" && find . -printf '%p %y %m %U %G %s %l\n' | LC_ALL=C sort
   find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum) | sha256sum | cut -d' ' -f1
}

require_root() { [ "$(id -u)" -eq 0 ] || skip "needs root"; }
require_cmd() { command -v "$1" >/dev/null || skip "needs $1"; }

# Mounts under PATH in this mount namespace (a leak would show here).
mounts_under() { awk -v p="$1" '$5 == p || index($5, p "/") == 1 {print $5}' /proc/self/mountinfo; }
