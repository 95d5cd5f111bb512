#!/usr/bin/env bats
# chrootify: the filesystem view. Runs as root (CI is root); each option is
# proven from inside the new root.

load helpers

setup_file() {
  export ROOT=$BATS_FILE_TMPDIR/rootfs
  make_busybox_root "$ROOT"
  echo "only inside" > "$ROOT/etc/marker"
  printf '#!/bin/sh\necho hi\n' > "$ROOT/bin/noexec"; chmod 0644 "$ROOT/bin/noexec"
}

setup() {
  require_root
  cd "$BATS_TEST_TMPDIR"
}

# ---- exit codes ---------------------------------------------------------

@test "exit codes: true 0, false 1, missing 127, not executable 126, bad flag 125, missing root 125" {
  while read -r want args; do
    # shellcheck disable=SC2086
    bk_run "$want" chrootify $args
  done <<EOT
0   $ROOT -- /bin/true
1   $ROOT -- /bin/false
127 $ROOT -- /bin/no-such-command
126 $ROOT -- /bin/noexec
125 --no-such-flag $ROOT -- /bin/true
125 $BATS_TEST_TMPDIR/missing -- /bin/true
125 --bind nocolon $ROOT -- /bin/true
125 --user ro/ot $ROOT -- /bin/true
125 --user ghost $ROOT -- /bin/true
EOT
}

@test "the command's own exit code and signal pass through" {
  bk_run 42 chrootify "$ROOT" -- /bin/sh -c 'exit 42'
  bk_run 137 chrootify "$ROOT" -- /bin/sh -c 'kill -KILL $$'
}

@test "errors have the one shape, with a hint" {
  bk_run 127 chrootify "$ROOT" -- /bin/nope
  assert_equal "$output" ""
  assert_regex "$stderr" '^chrootify: cannot run /bin/nope: execvp\("/bin/nope", \["/bin/nope"\]\): No such file or directory \(ENOENT\)'
  assert_regex "$stderr" 'chrootify: hint: '
  bk_run 125 chrootify --bogus "$ROOT"
  assert_regex "$stderr" "^chrootify: cannot understand the command line: .*"$'\n'"chrootify: hint: see 'chrootify --help'"
}

@test "--help and --version exit 0 on stdout" {
  bk_run 0 chrootify --help
  assert_output --partial "Usage: chrootify"
  assert_output --partial "Lesson: lessons/02-chroot"
  bk_run 0 chrootify --version
  assert_output --regexp '^chrootify [0-9]+\.[0-9]+\.[0-9]+$'
}

# ---- the root itself ----------------------------------------------------

@test "plain chroot: / is the new root" {
  bk_run 0 chrootify "$ROOT" -- /bin/cat /etc/marker
  assert_output "only inside"
  bk_run 0 chrootify "$ROOT" -- /bin/sh -c 'pwd; ls /'
  assert_output $'/\nbin\netc\ntmp'
}

@test "--pivot outside a private mount namespace refuses, with the hint" {
  bk_run 125 chrootify --pivot "$ROOT" -- /bin/true
  assert_regex "$stderr" "cannot pivot_root into .* mount namespace other processes share"
  assert_regex "$stderr" "hint: .*nsjail-lite --mount"
}

@test "pid 1 of a new PID namespace still refuses while an outsider shares its mount namespace" {
  # chrootify skips its look at every process when it is pid 1 and its
  # parent is in another mount namespace (nsjail-lite --pid --mount). Here
  # the parent, unshare -p -f, shares the namespace with a sleep outside
  # the box: chrootify must still look, and refuse.
  bk_run 125 unshare -m /bin/sh -c \
    "sleep 30 & unshare -p -f chrootify --pivot --proc $ROOT -- /bin/true; s=\$?; kill \$!; exit \$s"
  assert_regex "$stderr" "cannot pivot_root into .* mount namespace other processes share"
  # ... and the same box, started by a parent in another mount namespace, runs
  bk_run 0 nsjail-lite --pid --mount -- chrootify --pivot --proc "$ROOT" -- /bin/cat /proc/1/comm
  assert_output "cat"
  # not pid 1, it looks, and a process of the box's own PID namespace is no outsider
  bk_run 0 nsjail-lite --pid --mount -- /bin/sh -c \
    "sleep 30 & chrootify --pivot --proc $ROOT -- /bin/cat /proc/1/comm; s=\$?; kill \$!; exit \$s"
  assert_output "sh"
}

@test "mount options outside a private mount namespace refuse and mount nothing" {
  bk_run 125 chrootify --proc "$ROOT" -- /bin/true
  assert_equal "$(mounts_under "$ROOT")" ""
}

@test "--pivot: the old root is gone from the mount table" {
  bk_run 0 unshare -m chrootify --pivot --proc "$ROOT" -- /bin/sh -c 'cat /proc/self/mountinfo'
  assert_line --regexp '^[0-9]+ [0-9]+ [^ ]+ [^ ]+ / '
  refute_output --partial ' /proc/1/'
  assert_equal "$(echo "$output" | wc -l)" 2   # the root and /proc, nothing of the host's
}

@test "--proc shows /proc inside" {
  bk_run 0 unshare -m chrootify --proc "$ROOT" -- /bin/sh -c 'echo $$; read pid rest < /proc/self/stat; echo $pid'
  assert_equal "${lines[0]}" "${lines[1]}"
}

@test "--dev makes a small /dev that works" {
  bk_run 0 unshare -m chrootify --proc --dev "$ROOT" -- /bin/sh -c \
    'ls /dev | tr "\n" " "; echo; echo x > /dev/null && head -c 4 /dev/zero | wc -c; grep -c " /dev/pts .* devpts " /proc/self/mountinfo' </dev/null
  assert_line --index 0 "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero "
  assert_line --index 1 "4"
  assert_line --index 2 "1"
}

@test "--dev from a terminal: the box's terminal is its /dev/console, and tty names it" {
  require_cmd script
  # The terminal is the host's (script's), not one of the box's own /dev/pts.
  bk_run 0 script -qec "unshare -m chrootify --dev $ROOT -- /bin/sh -c 'tty; [ -c /dev/console ] && echo console'" /dev/null < <(sleep 3)
  output=$(tr -d '\r\0' <<<"$output" | sed 's/\^@//g')   # (the NUL script types at the end, echoed)
  mapfile -t lines <<<"$output"
  assert_line --index 0 "/dev/console"
  assert_line --index 1 "console"
  # Without a terminal there is none to name, and no /dev/console.
  bk_run 1 unshare -m chrootify --dev "$ROOT" -- /bin/sh -c 'tty; test -e /dev/console' </dev/null
  assert_output "not a tty"
}

@test "--sys is read-only" {
  bk_run 0 unshare -m chrootify --sys "$ROOT" -- /bin/sh -c 'test -d /sys/kernel && echo kernel; touch /sys/x 2>&1 || true'
  assert_line --index 0 "kernel"
  assert_output --partial "Read-only file system"
}

@test "--bind: a volume writable from inside, and :ro read-only" {
  mkdir vol rovol; echo data > rovol/f
  bk_run 0 unshare -m chrootify --bind "$PWD/vol:/data" --bind "$PWD/rovol:/ro:ro" "$ROOT" -- \
    /bin/sh -c 'echo written > /data/out; cat /ro/f; { echo no > /ro/g; } 2>&1 || true'
  assert_line --index 0 "data"
  assert_output --partial "Read-only file system"
  assert_file_exists vol/out
  assert_equal "$(cat vol/out)" "written"
  assert_file_not_exists rovol/g
}

@test "--bind of a single file" {
  echo "file volume" > single
  bk_run 0 unshare -m chrootify --bind "$PWD/single:/etc/single" "$ROOT" -- /bin/cat /etc/single
  assert_output "file volume"
}

@test "--tmpfs is an empty tmpfs" {
  bk_run 0 unshare -m chrootify --tmpfs /scratch "$ROOT" -- /bin/sh -c 'grep " /scratch " /proc/mounts 2>/dev/null || awk "\$2==\"/scratch\"{print \$3}" /proc/mounts; ls -A /scratch | wc -l' 
  # /proc is not mounted here: ask the mount table through the host instead
  bk_run 0 unshare -m chrootify --proc --tmpfs /scratch "$ROOT" -- /bin/sh -c 'awk "\$2==\"/scratch\" {print \$3}" /proc/mounts; ls -A /scratch | wc -l'
  assert_output $'tmpfs\n0'
}

@test "--overlay: writes land in --upper, the layers never change" {
  mkdir -p lower box
  cp -a "$ROOT/." lower/
  before=$(tree_digest lower)
  bk_run 0 unshare -m chrootify --overlay "$PWD/lower" --upper "$PWD/up" box -- \
    /bin/sh -c 'echo new > /new; rm /etc/marker; cat /etc/passwd >/dev/null; ls /'
  assert_equal "$(tree_digest lower)" "$before"
  assert_equal "$(cat up/new)" "new"
  run stat -c '%F %t:%T' up/etc/marker
  assert_output "character special file 0:0"   # overlayfs's whiteout for the removed file
  assert_dir_exists up.work
}

@test "--overlay with two layers: the top one wins" {
  mkdir -p base top box
  cp -a "$ROOT/." base/; echo base > base/etc/who
  mkdir -p top/etc; echo top > top/etc/who
  bk_run 0 unshare -m chrootify --overlay "$PWD/top:$PWD/base" --upper "$PWD/up" box -- /bin/cat /etc/who
  assert_output "top"
}

@test "--upper-tmpfs: writes go to memory under the overlay; nothing reaches the disk or the host" {
  mkdir -p lower box
  cp -a "$ROOT/." lower/
  before=$(tree_digest lower)
  bk_run 0 unshare -m chrootify --proc --overlay "$PWD/lower" --upper-tmpfs box -- \
    /bin/sh -c 'echo new > /new; rm /etc/marker; cat /new; ls /etc/marker 2>/dev/null; awk "\$2 == \"/\" {print \$3}" /proc/mounts'
  assert_output $'new\noverlay'
  assert_equal "$(tree_digest lower)" "$before"
  assert_equal "$(ls -A box)" ""
  assert_equal "$(grep -c " $PWD/box " /proc/self/mountinfo)" "0"
  # one place for the writes, and only with layers
  bk_run 125 unshare -m chrootify --overlay "$PWD/lower" --upper-tmpfs --upper "$PWD/up" box -- /bin/true
  assert_regex "$stderr" "cannot use --upper-tmpfs with --upper"
  bk_run 125 unshare -m chrootify --upper-tmpfs box -- /bin/true
  assert_regex "$stderr" "without --overlay"
  bk_run 125 unshare -m chrootify --overlay "$PWD/lower" box -- /bin/true
  assert_regex "$stderr" "--upper-tmpfs to keep them in memory"
  assert_file_not_exists up
}

@test "--readonly: the root cannot be written, its mounts can" {
  bk_run 0 unshare -m chrootify --readonly --tmpfs /tmp "$ROOT" -- /bin/sh -c 'touch /x 2>&1; touch /tmp/y && echo tmp-ok'
  assert_line --index 0 --partial "Read-only file system"
  assert_line --index 1 "tmp-ok"
  assert_file_not_exists "$ROOT/x"
}

@test "--workdir starts the command there, making it if needed" {
  bk_run 0 chrootify --workdir /srv/app "$ROOT" -- /bin/pwd
  assert_output "/srv/app"
  bk_run 125 chrootify --workdir relative "$ROOT" -- /bin/pwd
}

@test "--env and --clear-env" {
  bk_run 0 env FROM_HOST=1 chrootify --env GREETING=hello "$ROOT" -- /bin/sh -c 'echo "$GREETING ${FROM_HOST:-unset}"'
  assert_output "hello 1"
  bk_run 0 env FROM_HOST=1 chrootify --clear-env -e A=b "$ROOT" -- /bin/env
  assert_output "A=b"
  # Not even boxkit's own flags leak into the box.
  bk_run 0 env BOXKIT_QUIET=1 BOXKIT_EXPLAIN=1 chrootify --clear-env "$ROOT" -- /bin/env
  assert_output ""
  bk_run 125 chrootify --env NOEQUALS "$ROOT" -- /bin/true
}

@test "--user runs as that uid and gid, with no extra groups" {
  bk_run 0 chrootify --user 1234:5678 "$ROOT" -- /bin/sh -c 'id -u; id -g; id -G'
  assert_output $'1234\n5678\n5678'
  bk_run 0 chrootify --user 1000 "$ROOT" -- /bin/id -g
  assert_output "1000"
}

@test "--user NAME[:GROUP]: names come from the box's /etc/passwd and /etc/group, never the host's" {
  cp -a "$ROOT" box; local ROOT=$PWD/box
  echo "web:x:4321:4000::/var/www:/bin/sh" >> "$ROOT/etc/passwd"
  printf 'root:x:0:\nstaff:x:4001:web\n' > "$ROOT/etc/group"
  bk_run 0 chrootify --user web "$ROOT" -- /bin/sh -c 'id -u; id -g'
  assert_output $'4321\n4000'
  bk_run 0 chrootify --user web:staff "$ROOT" -- /bin/sh -c 'id -u; id -g'
  assert_output $'4321\n4001'
  bk_run 0 chrootify --user 99:staff "$ROOT" -- /bin/sh -c 'id -u; id -g'
  assert_output $'99\n4001'
  # the host has a nobody; this box does not
  bk_run 125 chrootify --user nobody "$ROOT" -- /bin/true
  assert_regex "$stderr" "cannot run as the user nobody"
  assert_regex "$stderr" "hint: the box's /etc/passwd has no such user"
  bk_run 125 chrootify --user web:wheel "$ROOT" -- /bin/true
  assert_regex "$stderr" "cannot run as the group wheel"
  bk_run 125 chrootify --user 'we b' "$ROOT" -- /bin/true
  assert_regex "$stderr" "cannot understand --user"
  # a FIFO (or anything not a regular file) as /etc/group neither blocks nor passes
  rm "$ROOT/etc/group"; mkfifo "$ROOT/etc/group"
  BK_TIMEOUT=10 bk_run 125 chrootify --user web:staff "$ROOT" -- /bin/true
  assert_regex "$stderr" "must be a regular file"
}

# ---- narration ------------------------------------------------------------

@test "--explain narrates on stderr and leaves stdout to the command" {
  bk_run 0 unshare -m chrootify --explain --pivot --proc --dev "$ROOT" -- /bin/echo out
  assert_output "out"
  assert_regex "$stderr" 'chrootify: explain: [^:]+: pivot_root\("\.", "\."\)'
  assert_regex "$stderr" 'chrootify: explain: [^:]+: mount\("proc", "[^"]*/proc", "proc", MS_NOSUID\|MS_NODEV\|MS_NOEXEC, NULL\)'
  assert_regex "$stderr" 'chrootify: explain: [^:]+: chdir\("/"\)'
}

@test "BOXKIT_EXPLAIN=1 narrates too, and a chain inherits it" {
  bk_run 0 env BOXKIT_EXPLAIN=1 chrootify "$ROOT" -- /bin/sh -c 'echo $BOXKIT_EXPLAIN'
  assert_output "1"
  assert_regex "$stderr" 'chrootify: explain: .*chroot\('
}

# ---- hygiene and hostile roots ----------------------------------------------

@test "no fd but 0, 1 and 2 reaches the command" {
  # Look from outside at a command that opens nothing itself: what it holds
  # is exactly what it inherited. Bats's own fds and two of ours are open here.
  exec 7</dev/null 8>"$BATS_TEST_TMPDIR/leak"
  chrootify "$ROOT" -- /bin/sleep 30 &
  pid=$!
  exec 7<&- 8>&-
  for _ in $(seq 50); do
    [[ $(readlink "/proc/$pid/exe") == */busybox ]] && break
    sleep 0.1
  done
  fds=$(ls "/proc/$pid/fd" | sort -n | tr '\n' ' ')
  kill "$pid"; wait "$pid" || true
  assert_equal "$fds" "0 1 2 "
}

hostile() { # make a root with TRAP linked as NAME, and a sentinel beside it
  mkdir -p sentinel/etc
  echo "do not touch" > sentinel/etc/keep
  make_busybox_root evil
}

@test "hostile root: proc -> / and dev -> /tmp/x are refused, nothing outside changes" {
  hostile
  ln -s / evil/proc
  ln -s "$PWD/sentinel" evil/dev
  before=$(tree_digest sentinel)
  bk_run 125 unshare -m chrootify --proc "$PWD/evil" -- /bin/true
  assert_regex "$stderr" "/proc in the root filesystem must be a plain directory"
  bk_run 125 unshare -m chrootify --dev "$PWD/evil" -- /bin/true
  assert_regex "$stderr" "/dev in the root filesystem must be a plain directory"
  assert_equal "$(tree_digest sentinel)" "$before"
}

@test "hostile root: /proc as a file is refused" {
  hostile
  echo not-a-dir > evil/proc
  bk_run 125 unshare -m chrootify --proc "$PWD/evil" -- /bin/true
}

@test "hostile root: mount targets that climb out land inside the root" {
  hostile
  ln -s ../sentinel evil/up          # relative, climbing
  ln -s "$PWD/sentinel" evil/abs     # absolute, to the host's path
  ln -s ../../../../../../ evil/deep
  mkdir vol; echo v > vol/f
  before=$(tree_digest sentinel)
  bk_run 0 unshare -m chrootify --bind "$PWD/vol:/up/etc/v" --tmpfs /abs/t --bind "$PWD/vol:/deep/etc/w" \
    --workdir /up/wd "$PWD/evil" -- /bin/pwd
  assert_equal "$(tree_digest sentinel)" "$before"
  # Each link was followed as if the root were "/": all landed inside evil/.
  assert_dir_exists evil/sentinel/etc/v
  assert_dir_exists "evil$PWD/sentinel/t"
  assert_dir_exists evil/etc/w
  assert_output "/sentinel/wd"
}

@test "hostile root: the root itself as a symlink is followed on the host side only by the caller's choice" {
  make_busybox_root real
  ln -s real linkroot
  bk_run 0 chrootify linkroot -- /bin/true
}
