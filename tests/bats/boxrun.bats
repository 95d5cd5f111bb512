#!/usr/bin/env bats
# boxrun (examples/boxrun): the docker workflow over the six tools, end to end.
# Every test uses its own store, layer cache, run directory and box names
# (unique per run: cgroup names are machine-wide), and teardown removes every
# box, cgroup, mount, netfwd and registry process it made.

load helpers

BOXRUN=$BATS_TEST_DIRNAME/../../examples/boxrun

setup_file() {
  [ "$(id -u)" -eq 0 ] || return 0
  export W=$BATS_FILE_TMPDIR
  export BOXKIT_STORE=$W/store BOXKIT_LAYERS=$W/layers BOXKIT_RUN=$W/run
  export P=br$$   # box-name prefix, unique on this machine
  make_busybox_root "$W/rootfs"
  mkdir -p "$W/rootfs/www" "$W/rootfs/app"
  echo "page-$P" > "$W/rootfs/www/index.html"
  echo "app:x:1000:1000:app:/app:/bin/sh" >> "$W/rootfs/etc/passwd"
  imgpack build "$W/rootfs" --tag "test/$P:1" --cmd '["/bin/sh","-c","echo default-cmd"]' >/dev/null
  imgpack build "$W/rootfs" --tag "test/$P-ep:1" --entrypoint '["/bin/echo","ep"]' --cmd '["from-cmd"]' \
    --env GREETING=hi --workdir /app --user app >/dev/null
  export IMG=test/$P:1 EP=test/$P-ep:1
  # A limit that is not itself the test: tools built with ASan need about
  # 31 MiB to set a box up, so under `tests/run asan` it is larger.
  export MEM=32; [ -z "${BOXKIT_SANITIZED:-}" ] || MEM=128
}

setup() {
  require_root
  require_cmd jq
  N=$P-$BATS_TEST_NUMBER   # this test's box names start with $N
}

teardown() {
  [ -n "${N:-}" ] || return 0
  local box
  for box in "$W"/boxrun/boxes/"$N"* "$BOXKIT_RUN"/.boxrun/"$N"*; do
    [ -d "$box" ] && "$BOXRUN" rm -f "$(basename "$box")" >/dev/null 2>&1 || true
  done
  local g
  for g in $(cgctl ls 2>/dev/null | awk -v n="boxrun-$N" 'index($1, n) == 1 {print $1}'); do cgctl rm --force "$g" || true; done
  pkill -f "netfwd publish .* --box $N" || true
  if [ -f "$W/reg-$BATS_TEST_NUMBER/pid" ]; then
    . "$BATS_TEST_DIRNAME/../regpull/registry.bash"; registry_stop "$W/reg-$BATS_TEST_NUMBER"
  fi
}

teardown_file() {
  [ -n "${W:-}" ] || return 0
  assert_equal "$(mounts_under "$W")" ""
}

# Nothing of box NAME is left: notes, record, cgroup, supervisor, netfwd.
assert_box_gone() {
  assert [ ! -e "$W/boxrun/boxes/$1" ]
  assert [ ! -e "$BOXKIT_RUN/.boxrun/$1" ]
  assert [ ! -e "$BOXKIT_RUN/$1.json" ]
  run cgctl ls
  refute_output --partial "boxrun-$1-"
  run pgrep -f "_supervise $1( |$)"
  assert_failure
  run pgrep -f "netfwd publish .* --box $1( |$)"
  assert_failure
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- exit codes and usage ---------------------------------------------------

@test "run: exit codes pass through (0, N, 126, 127, 125)" {
  while read -r want args; do
    # shellcheck disable=SC2086
    bk_run "$want" "$BOXRUN" run --rm $args
  done <<EOF
0   $IMG /bin/true
1   $IMG /bin/false
126 $IMG /etc/passwd
127 $IMG /no/such/command
125 --bogus-option $IMG
125 --name ../escape $IMG /bin/true
EOF
  assert [ ! -e "$W/boxrun/escape" ]
}

@test "run: a box's own status N and a signal's 128+S come through" {
  bk_run 7 "$BOXRUN" run --rm "$IMG" sh -c 'exit 7'
  bk_run 137 "$BOXRUN" run --rm --init "$IMG" sh -c 'kill -KILL $$'
}

@test "errors from the tools come through unchanged, with their exit codes" {
  bk_run 125 "$BOXRUN" run --rm -m lots "$IMG" /bin/true
  assert_regex "$stderr" "^cgctl: cannot understand --memory lots"
  bk_run 125 "$BOXRUN" run --rm -p 99999:80 "$IMG" sleep 100
  assert_regex "$stderr" "netfwd: cannot understand the port spec 99999:80"
  bk_run 125 "$BOXRUN" run --rm -p 99999:80 -d --name "$N" "$IMG" sleep 100
  assert_regex "$stderr" "netfwd: cannot understand the port spec"
  bk_run 125 "$BOXRUN" rmi "test/$P-none:1"
  assert_regex "$stderr" "^imgpack: cannot"
  bk_run 125 "$BOXRUN" run --rm 127.0.0.1:1/nothing/here:1 /bin/true
  assert_regex "$stderr" "regpull: cannot fetch the manifest of nothing/here:1"
}

@test "usage: --help exits 0; no command or an unknown one exits 125" {
  bk_run 0 "$BOXRUN" --help
  assert_output --partial "Usage: boxrun [--explain] COMMAND"
  assert_output --partial "lessons/10-boxrun"
  bk_run 125 "$BOXRUN"
  bk_run 125 "$BOXRUN" frobnicate
  assert_regex "$stderr" "boxrun: cannot understand the command 'frobnicate'"
  bk_run 125 "$BOXRUN" run
  assert_regex "$stderr" "boxrun: hint:"
  bk_run 125 "$BOXRUN" run --name
  assert_regex "$stderr" "without a value"
}

@test "--explain narrates the whole chain on stderr and leaves stdout clean" {
  bk_run 0 "$BOXRUN" --explain run --rm -m ${MEM}m "$IMG" echo only-this
  assert_output "only-this"
  assert_regex "$stderr" "cgctl: explain: "
  assert_regex "$stderr" "nsjail-lite: explain: "
  assert_regex "$stderr" "chrootify: explain: "
}

@test "hostile names and paths change nothing outside boxrun's directories" {
  local sentinel=$BATS_TEST_TMPDIR/sentinel before
  mkdir -p "$sentinel/boxes/x" "$sentinel/volumes/v/_data"
  echo keep > "$sentinel/boxes/x/config.sh"; echo keep > "$sentinel/volumes/v/_data/f"
  before=$(tree_digest "$sentinel")
  local bad
  for bad in ../sentinel "../../$(basename "$BATS_TEST_TMPDIR")/sentinel/boxes/x" "" . .. -x "a/b" "$(printf 'x%.0s' {1..65})"; do
    [ -z "$bad" ] || bk_run 125 "$BOXRUN" run --rm --name "$bad" "$IMG" true   # (an empty name is docker's "no name")
    for sub in rm logs start stop kill inspect-box commit; do
      case $sub in
        inspect-box) run "$BOXRUN" inspect "$bad" ;;  # not a box: asked of imgpack, which refuses
        commit) run "$BOXRUN" commit "$bad" "test/$N-x:1" ;;
        *) run "$BOXRUN" "$sub" "$bad" ;;
      esac
      [ "$status" -ne 0 ] || { echo "boxrun $sub '$bad' succeeded" >&2; return 1; }
    done
    run "$BOXRUN" volume create "$bad"; [ "$status" -eq 125 ]
    run "$BOXRUN" volume rm "$bad"; [ "$status" -eq 125 ]
  done
  bk_run 125 "$BOXRUN" run --rm -v "a/b:/x" "$IMG" true     # neither a path nor a volume name
  bk_run 125 "$BOXRUN" run --rm -v "-x:/x" "$IMG" true
  assert_equal "$(tree_digest "$sentinel")" "$before"
}

# ---- the image's config -------------------------------------------------------

@test "run: Cmd, Entrypoint, Env, WorkingDir and User come from the image" {
  bk_run 0 "$BOXRUN" run --rm "$IMG"
  assert_output "default-cmd"
  bk_run 0 "$BOXRUN" run --rm "$EP"
  assert_output "ep from-cmd"
  bk_run 0 "$BOXRUN" run --rm "$EP" given
  assert_output "ep given"
  bk_run 0 "$BOXRUN" run --rm --name "$N" "$EP" '$GREETING'
  assert_output 'ep $GREETING'     # exec form: no shell expands it
}

@test "run: the image's Env, WorkingDir and user reach the command" {
  imgpack build "$W/rootfs" --tag "test/$N-env:1" --env GREETING=hi --workdir /app --user app \
    --cmd '["/bin/sh","-c","echo $GREETING $(pwd) $(id -u):$(id -g)"]' >/dev/null
  bk_run 0 "$BOXRUN" run --rm "test/$N-env:1"
  assert_output "hi /app 1000:1000"
  # -u and -w over the image's: numbers or the box's own names (chrootify looks them up)
  bk_run 0 "$BOXRUN" run --rm -u 0:1000 -w /tmp "test/$N-env:1"
  assert_output "hi /tmp 0:1000"
  bk_run 0 "$BOXRUN" run --rm --user root --workdir /srv "test/$N-env:1"
  assert_output "hi /srv 0:0"
  bk_run 125 "$BOXRUN" run --rm -u nobody "test/$N-env:1"
  assert_regex "$stderr" "chrootify: cannot run as the user nobody"
  bk_run 0 "$BOXRUN" rmi "test/$N-env:1"
}

@test "run: -e K=V and -e K (from the host) set the environment, over the image's" {
  export FROM_HOST=yes SECRET_OF_HOST=1
  bk_run 0 "$BOXRUN" run --rm -e A=1 -e FROM_HOST --env B=2 "$IMG" sh -c 'echo $A $FROM_HOST $B; env | grep -c -e ^SECRET_OF_HOST -e ^BOXKIT_ || true'
  assert_output "1 yes 2
0"
  imgpack build "$W/rootfs" --tag "test/$N-env:1" --env GREETING=hi --cmd '["/bin/sh","-c","echo $GREETING"]' >/dev/null
  bk_run 0 "$BOXRUN" run --rm -e GREETING=override "test/$N-env:1"
  assert_output "override"
  bk_run 0 "$BOXRUN" rmi "test/$N-env:1"
}

# ---- namespaces, hostname, init -------------------------------------------------

@test "run: the box is pid 1 with its own hostname (the name, or --hostname) and only loopback" {
  bk_run 0 "$BOXRUN" run --rm --name "$N" "$IMG" sh -c 'echo $$; hostname; ls /sys/class/net 2>/dev/null || ip -o link | wc -l'
  assert_line --index 0 "1"
  assert_line --index 1 "$N"
  bk_run 0 "$BOXRUN" run --rm --hostname web-$N "$IMG" hostname
  assert_output "web-$N"
  assert_equal "$(hostname)" "$(uname -n)"
}

@test "run --init: a tiny pid 1 runs the command as its child" {
  bk_run 0 "$BOXRUN" run --rm --init "$IMG" sh -c 'echo $$; cat /proc/1/cmdline | tr "\0" " "'
  refute_line --index 0 "1"
}

# ---- filesystems: overlay, volumes --------------------------------------------

@test "two boxes from one image do not see each other's writes; the image never changes" {
  bk_run 0 "$BOXRUN" run --name "$N-a" "$IMG" sh -c 'echo a >> /www/mine; rm -f /www/index.html; wc -l < /www/mine'
  assert_output "1"
  bk_run 0 "$BOXRUN" run --name "$N-b" "$IMG" sh -c 'cat /www/mine 2>&1; cat /www/index.html'
  assert_output --partial "No such file"
  assert_output --partial "page-$P"
  bk_run 0 "$BOXRUN" start -a "$N-a"    # the same box again: its own writes are still there
  assert_output "2"
  bk_run 0 "$BOXRUN" run --rm "$IMG" ls /www
  assert_output "index.html"
  assert [ -f "$W/boxrun/boxes/$N-a/upper/www/mine" ]
}

@test "-v HOSTDIR:DIR and :ro; -v VOLUME:DIR survives rm; volume create/ls/inspect/rm" {
  mkdir -p "$BATS_TEST_TMPDIR/host"
  echo from-host > "$BATS_TEST_TMPDIR/host/in"
  bk_run 0 "$BOXRUN" run --rm -v "$BATS_TEST_TMPDIR/host:/data" "$IMG" sh -c 'cat /data/in; echo out > /data/out'
  assert_output "from-host"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/host/out")" "out"
  bk_run 1 "$BOXRUN" run --rm -v "$BATS_TEST_TMPDIR/host:/data:ro" "$IMG" sh -c 'echo x > /data/ro'
  assert [ ! -e "$BATS_TEST_TMPDIR/host/ro" ]

  bk_run 0 "$BOXRUN" volume create "$N-vol"
  bk_run 0 "$BOXRUN" run --name "$N" -v "$N-vol:/db" "$IMG" sh -c 'echo kept > /db/file'
  bk_run 0 "$BOXRUN" volume ls
  assert_line "$N-vol"
  bk_run 125 "$BOXRUN" volume rm "$N-vol"
  assert_regex "$stderr" "a box uses it"
  bk_run 0 "$BOXRUN" rm "$N"
  bk_run 0 "$BOXRUN" run --rm -v "$N-vol:/db" "$IMG" cat /db/file
  assert_output "kept"
  bk_run 0 "$BOXRUN" run --rm -v "$N-auto:/x" "$IMG" true    # a named volume is made on first use
  bk_run 0 "$BOXRUN" volume inspect "$N-vol"
  assert_equal "$(jq -r .mountpoint <<<"$output")" "$W/boxrun/volumes/$N-vol/_data"
  bk_run 0 "$BOXRUN" volume rm "$N-vol" "$N-auto"
  bk_run 125 "$BOXRUN" volume inspect "$N-vol"
  bk_run 125 "$BOXRUN" volume create ../evil
  bk_run 125 "$BOXRUN" run --rm -v "nocolon" "$IMG" true
}

@test "--rm leaves nothing behind: notes, writable layer, record, cgroup, mounts" {
  bk_run 0 "$BOXRUN" run --rm --name "$N" -m ${MEM}m -v "$N-v:/v" "$IMG" sh -c 'echo x > /tmp/x'
  assert_box_gone "$N"
  bk_run 0 "$BOXRUN" run --rm -d --name "$N-d" "$IMG" sleep 0.3
  assert_output "$N-d"
  for _ in $(seq 50); do [ -e "$BOXKIT_RUN/.boxrun/$N-d" ] || break; sleep 0.1; done
  assert_box_gone "$N-d"
  assert_equal "$(mounts_under "$W")" ""
}

@test "--rm keeps the writable layer in memory: writes and deletes work, nothing reaches the disk" {
  # (the upper directory is on a tmpfs under the overlay, at the same place)
  bk_run 0 "$BOXRUN" run --rm --name "$N" "$IMG" sh -c 'echo x > /www/new; rm /www/index.html; ls /www; grep -c "^overlay / .*upperdir=$0/upper" /proc/mounts' "$W/boxrun/root"
  assert_output "new
1"
  assert_equal "$(ls -A "$W/boxrun/root")" ""
  assert_equal "$(find "$W/boxrun/boxes" "$BOXKIT_RUN/.boxrun" -mindepth 1)" ""
  bk_run 0 "$BOXRUN" run --rm "$IMG" ls /www
  assert_output "index.html"
  # two --rm boxes at once: each mounts its own tmpfs and overlay on the one root directory
  bk_run 0 "$BOXRUN" run -d --rm --name "$N-a" "$IMG" sh -c 'echo a > /mark; exec sleep 1000'
  bk_run 0 "$BOXRUN" run -d --rm --name "$N-b" "$IMG" sh -c 'echo b > /mark; exec sleep 1000'
  for _ in $(seq 30); do "$BOXRUN" exec "$N-a" test -s /mark && "$BOXRUN" exec "$N-b" test -s /mark && break; sleep 0.1; done
  bk_run 0 "$BOXRUN" exec "$N-a" cat /mark
  assert_output "a"
  bk_run 0 "$BOXRUN" exec "$N-b" cat /mark
  assert_output "b"
  # so a running --rm box cannot be committed: its layer is seen only inside it
  bk_run 125 "$BOXRUN" commit "$N-a" "test/$N-c:1"
  assert_regex "$stderr" "boxrun: cannot commit the box $N-a: with --rm"
  bk_run 0 "$BOXRUN" stop -t 0 "$N-a" "$N-b"
  for _ in $(seq 50); do [ -e "$BOXKIT_RUN/.boxrun/$N-a" ] || [ -e "$BOXKIT_RUN/.boxrun/$N-b" ] || break; sleep 0.1; done
  assert_box_gone "$N-a"
  assert_box_gone "$N-b"
}

@test "a running --rm box is listed by ps and stopped by stop, like any other" {
  "$BOXRUN" run --rm --init --name "$N" "$IMG" sleep 1000 >/dev/null 2>&1 3>&- &
  local pid=$!
  for _ in $(seq 50); do "$BOXRUN" ps | grep -q "^$N " && break; sleep 0.1; done
  bk_run 0 "$BOXRUN" ps
  assert_output --regexp "$N +test/$P:1 +sleep 1000 +running"
  # its notes are in the run directory (they never outlive the run), not beside the store
  assert [ -f "$BOXKIT_RUN/.boxrun/$N/config.sh" ]
  assert [ ! -e "$W/boxrun/boxes/$N" ]
  # and its name is taken in both places
  bk_run 125 "$BOXRUN" run --name "$N" "$IMG" true
  assert_regex "$stderr" "boxrun: cannot name the box '$N': there is one already"
  bk_run 0 "$BOXRUN" stop -t 1 "$N"
  run wait "$pid"
  assert_equal "$status" 143    # its command ended by SIGTERM
  assert_box_gone "$N"
}

@test "relative BOXKIT_ paths work (the tools start the box elsewhere)" {
  cd "$BATS_TEST_TMPDIR"
  BOXKIT_BOXRUN=rel bk_run 0 "$BOXRUN" run --rm "$IMG" cat /www/index.html
  assert_output "page-$P"
  BOXKIT_BOXRUN=rel bk_run 0 "$BOXRUN" run --name "$N" "$IMG" sh -c 'echo kept > /kept'
  assert [ -f "$BATS_TEST_TMPDIR/rel/boxes/$N/upper/kept" ]
  BOXKIT_BOXRUN=rel bk_run 0 "$BOXRUN" rm "$N"
}

# ---- detached boxes: ps, logs, stop, start, kill, rm, exec ------------------------

@test "run -d, ps, logs, stop, start: start after stop keeps the box's files" {
  bk_run 0 "$BOXRUN" run -d --init --name "$N" "$IMG" sh -c 'echo started; date >> /tmp/starts; exec sleep 1000'
  assert_output "$N"
  bk_run 0 "$BOXRUN" ps
  assert_output --regexp "$N +test/$P:1 +sh -c .* running"
  bk_run 0 "$BOXRUN" logs "$N"
  assert_output "started"
  bk_run 0 "$BOXRUN" stop -t 1 "$N"
  bk_run 0 "$BOXRUN" ps
  refute_output --partial "$N"
  bk_run 0 "$BOXRUN" ps -a
  assert_output --regexp "$N .* exited \([0-9]+\)"
  bk_run 0 "$BOXRUN" start "$N"
  bk_run 0 "$BOXRUN" exec "$N" wc -l /tmp/starts
  assert_output --regexp "^2 /tmp/starts"
  bk_run 125 "$BOXRUN" start "$N"
  assert_regex "$stderr" "it is running"
  bk_run 0 "$BOXRUN" logs "$N"
  assert_output "started
started"
}

@test "logs -f follows a box until it ends" {
  bk_run 0 "$BOXRUN" run -d --name "$N" "$IMG" sh -c 'for i in 1 2 3; do echo line$i; sleep 0.2; done'
  bk_run 0 "$BOXRUN" logs -f "$N"
  assert_output "line1
line2
line3"
  bk_run 125 "$BOXRUN" logs "$N-none"
}

@test "logs: a box run in the foreground keeps a log too, stdout and stderr apart on the way; --rm keeps none" {
  bk_run 3 "$BOXRUN" run --name "$N" "$IMG" sh -c 'echo to-out; echo to-err >&2; exit 3'
  assert_output "to-out"
  assert_equal "$stderr" "to-err"
  bk_run 0 "$BOXRUN" logs "$N"
  assert_line "to-out"
  assert_line "to-err"
  assert_equal "${#lines[@]}" 2
  # start -a runs it in the foreground again, and the log grows
  bk_run 3 "$BOXRUN" start -a "$N"
  bk_run 0 "$BOXRUN" logs "$N"
  assert_equal "$(grep -c to-out <<<"$output")" 2
  # a --rm box leaves nothing behind, so no log either
  bk_run 0 "$BOXRUN" run --rm --name "$N-rm" "$IMG" echo gone
  assert_output "gone"
  bk_run 125 "$BOXRUN" logs "$N-rm"
  # and no tee outlives its box
  run pgrep -f "tee -ai $W/boxrun/boxes/$N"
  assert_failure
}

@test "exec sees the running box: its processes, hostname, files and cgroup" {
  bk_run 0 "$BOXRUN" run -d --name "$N" -m ${MEM}m "$IMG" sh -c 'echo inside > /tmp/mark; exec sleep 1000'
  bk_run 0 "$BOXRUN" exec "$N" sh -c 'cat /tmp/mark; hostname; tr "\\0" " " < /proc/1/cmdline; echo; cat /proc/self/cgroup | grep -c "boxrun-'"$N"'"'
  assert_line --index 0 "inside"
  assert_line --index 1 "$N"
  assert_line --index 2 "sleep 1000 "
  refute_line --index 3 "0"
  export CALLER_ONLY=1
  bk_run 0 "$BOXRUN" exec "$N" sh -c 'echo "$HOSTNAME ${CALLER_ONLY:-unset}"'    # the box's environment
  assert_output "$N unset"
  bk_run 0 "$BOXRUN" exec "$N" sh -c 'env | grep -c ^BOXKIT_ || true'
  assert_output "0"      # not even BOXKIT_RUN, which nsjail-lite exec needed to find the box
  bk_run 0 "$BOXRUN" exec "$N" sh -c 'cat; echo end' <<<"no-stdin"
  assert_output "end"
  bk_run 0 "$BOXRUN" exec -i "$N" cat <<<"with-stdin"
  assert_output "with-stdin"
  bk_run 3 "$BOXRUN" exec "$N" sh -c 'exit 3'
  bk_run 127 "$BOXRUN" exec "$N" /no/such
  bk_run 0 "$BOXRUN" stop -t 0 "$N"
  bk_run 125 "$BOXRUN" exec "$N" true
  assert_regex "$stderr" "not running"
}

# The box's command counts its SIGINTs: after the first (or a few seconds),
# it waits a second for more, then says how many came. It writes "ready"
# once its trap is set. (It spins rather than sleeps until the first: a
# shell runs a trap once for signals that came while it waited for a
# command, and a second SIGINT a moment after the first must count.)
count_ints() {
  cat > "$W/www-$N/count.sh" <<'SH'
n=0 i=0
trap 'n=$((n + 1))' INT
echo ready > /www/ready
while [ "$n" -eq 0 ] && [ "$i" -lt 2000000 ]; do i=$((i + 1)); done
sleep 1
echo "SIGINTs: $n"
SH
}

@test "a SIGINT sent to boxrun alone reaches the box once, as docker passes it on" {
  mkdir -p "$W/www-$N"; count_ints
  # (env --default-signal: a script's background job starts with SIGINT ignored)
  env --default-signal=INT "$BOXRUN" run --rm -v "$W/www-$N:/www" "$IMG" sh /www/count.sh > "$BATS_TEST_TMPDIR/out" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do [ -e "$W/www-$N/ready" ] && break; sleep 0.1; done
  kill -INT "$pid"
  wait "$pid"
  run cat "$BATS_TEST_TMPDIR/out"
  assert_output "SIGINTs: 1"
}

@test "^C at a terminal reaches a box without one once: boxrun does not pass it on again" {
  require_cmd script
  mkdir -p "$W/www-$N"; count_ints
  # (exec: script runs $SHELL -c, and dash, CI's /bin/sh, waits instead of
  # exec'ing; a ^C then ends it with 130 whatever boxrun returns.) boxrun's
  # bash traces to fd 5, to show what its trap did.
  bk_run 0 script -qec "exec env BASH_XTRACEFD=5 bash -x $BOXRUN run --rm -v $W/www-$N:/www $IMG sh /www/count.sh 5>$BATS_TEST_TMPDIR/trace" /dev/null \
    < <(for _ in $(seq 100); do [ -e "$W/www-$N/ready" ] && break; sleep 0.1; done; printf '\003'; sleep 3)
  assert_output --partial "SIGINTs: 1"
  # The count alone could miss a second SIGINT: a tool in the chain that
  # gets the terminal's and boxrun's at once sees one. So: boxrun's trap ran
  # and asked whether it is in the foreground, and sent nothing.
  grep -qE '^\++ in_foreground' "$BATS_TEST_TMPDIR/trace"
  run grep -E '^\++ kill -INT' "$BATS_TEST_TMPDIR/trace"
  assert_failure
}

@test "kill sends a signal; rm refuses a running box without -f; rm -f removes it" {
  bk_run 0 "$BOXRUN" run -d --name "$N" "$IMG" sh -c 'trap "echo got-usr1" USR1; echo trapped; while :; do sleep 0.1; done'
  for _ in $(seq 100); do grep -q trapped "$W/boxrun/boxes/$N/log" && break; sleep 0.1; done   # (a USR1 before the trap: pid 1 ignores it)
  bk_run 0 "$BOXRUN" kill -s USR1 "$N"
  for _ in $(seq 30); do grep -q got-usr1 "$W/boxrun/boxes/$N/log" && break; sleep 0.1; done
  bk_run 0 "$BOXRUN" logs "$N"
  assert_output --partial "got-usr1"
  bk_run 125 "$BOXRUN" rm "$N"
  assert_regex "$stderr" "it is running"
  bk_run 0 "$BOXRUN" rm -f "$N"
  assert_box_gone "$N"
  bk_run 125 "$BOXRUN" kill "$N"
  bk_run 125 "$BOXRUN" stop "$N"
}

@test "run -i passes stdin; without -i the box's stdin is empty" {
  bk_run 0 "$BOXRUN" run --rm -i "$IMG" cat <<<"through"
  assert_output "through"
  bk_run 0 "$BOXRUN" run --rm -t -i "$IMG" cat <<<"through-t"
  assert_output "through-t"
  bk_run 0 "$BOXRUN" run --rm "$IMG" sh -c 'cat; echo done' <<<"lost"
  assert_output "done"
}

@test "a second box of the same name is refused" {
  bk_run 0 "$BOXRUN" run --name "$N" "$IMG" true
  bk_run 125 "$BOXRUN" run --name "$N" "$IMG" true
  assert_regex "$stderr" "there is one already"
  # a --rm box too, though its notes would go elsewhere (the run directory)
  bk_run 125 "$BOXRUN" run --rm --name "$N" "$IMG" true
  assert_regex "$stderr" "there is one already"
  assert [ ! -e "$BOXKIT_RUN/.boxrun/$N" ]
}

# ---- ports and limits -------------------------------------------------------------

@test "-p reaches the box; the forwarder goes with the box" {
  require_cmd curl
  local port; port=$(free_port)
  bk_run 0 "$BOXRUN" run -d --name "$N" -p "127.0.0.1:$port:80" "$IMG" httpd -f -p 80 -h /www
  bk_run 0 curl -sS --retry 5 --retry-all-errors --retry-delay 1 "http://127.0.0.1:$port/index.html"   # (httpd may still be starting)
  assert_output "page-$P"
  bk_run 0 "$BOXRUN" ps
  assert_output --partial "127.0.0.1:$port:80"
  bk_run 0 "$BOXRUN" stop -t 1 "$N"
  run pgrep -f "netfwd publish .* --box $N( |$)"
  assert_failure
  bk_run 7 curl -sS "http://127.0.0.1:$port/"
}

@test "a memory limit kills a hog inside the box and boxrun reports it" {
  local hog=24; [ -z "${BOXKIT_SANITIZED:-}" ] || hog=96   # still far below what the hog takes
  bk_run 137 "$BOXRUN" run --rm -m ${hog}m "$IMG" sh -c 'x=$(head -c 200000000 /dev/zero | tr "\0" a); echo survived'
  refute_output --partial survived
  assert_regex "$stderr" "boxrun: box .*: the memory limit \(${hog}Mi\) killed a process in it \(OOM\)"
}

@test "--pids stops a fork loop; --cpus and -m become the group's limits (stats)" {
  bk_run 2 "$BOXRUN" run --rm --pids 8 "$IMG" sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 3 & echo $i; done; echo end'
  refute_output --partial end
  [ "$(tail -1 <<<"$output")" -lt 8 ]
  assert_regex "$stderr" "can't fork"
  bk_run 0 "$BOXRUN" run -d --name "$N" -m ${MEM}m --cpus 0.5 --pids 16 "$IMG" sleep 1000
  bk_run 0 "$BOXRUN" stats "$N"
  assert_output --regexp "boxrun-$N-[0-9a-f]{8} .* / ${MEM}Mi .* / 16 "
  bk_run 0 "$BOXRUN" inspect "$N"
  bk_run 0 cgctl stats "$(jq -r .cgroup <<<"$output")" --json
  assert_equal "$(jq -r '.cpu_quota_usec / .cpu_period_usec' <<<"$output")" "0.5"
  bk_run 0 "$BOXRUN" inspect "$N"
  assert_equal "$(jq -r '.status, .limits.memory, .record.name' <<<"$output" | tr '\n' ' ')" "running ${MEM}Mi $N "
}

# ---- images: commit, pull, push, images, tag, rmi, save, load, inspect ----------------

@test "commit BOX IMAGE: the box's writable layer becomes a new image" {
  bk_run 0 "$BOXRUN" run --name "$N" "$IMG" sh -c 'echo committed > /www/new; rm /www/index.html'
  bk_run 0 "$BOXRUN" commit "$N" "test/$N-c:1"
  bk_run 0 "$BOXRUN" run --rm "test/$N-c:1" ls /www
  assert_output "new"
  bk_run 0 "$BOXRUN" run --rm "$IMG" ls /www
  assert_output "index.html"
  bk_run 125 "$BOXRUN" commit "$N-none" "test/$N-c:2"
  # a running box is frozen while its layer is read, and thawed after
  bk_run 0 "$BOXRUN" run -d --name "$N-live" "$IMG" sh -c 'echo live > /www/live; while :; do date > /tmp/tick; sleep 0.1; done'
  for _ in $(seq 100); do [ -s "$W/boxrun/boxes/$N-live/upper/tmp/tick" ] && break; sleep 0.1; done
  bk_run 0 "$BOXRUN" commit "$N-live" "test/$N-c:2"
  bk_run 0 "$BOXRUN" run --rm "test/$N-c:2" cat /www/live
  assert_output "live"
  bk_run 0 "$BOXRUN" exec "$N-live" sh -c 'a=$(cat /tmp/tick); sleep 1.2; [ "$(cat /tmp/tick)" != "$a" ] && echo thawed'
  assert_output "thawed"
  bk_run 0 "$BOXRUN" rmi "test/$N-c:1" "test/$N-c:2"
}

@test "images, tag, rmi, save, load, inspect (imgpack under docker's names)" {
  bk_run 0 "$BOXRUN" tag "$IMG" "test/$N-t:2"
  bk_run 0 "$BOXRUN" images
  assert_output --regexp "test/$N-t +2"
  bk_run 0 "$BOXRUN" inspect "test/$N-t:2"
  jq -e '.config' <<<"$output" >/dev/null
  bk_run 0 "$BOXRUN" save "test/$N-t:2" -o "$BATS_TEST_TMPDIR/img.tar"
  bk_run 0 "$BOXRUN" rmi "test/$N-t:2"
  bk_run 0 "$BOXRUN" images
  refute_output --partial "test/$N-t"
  bk_run 0 "$BOXRUN" load -i "$BATS_TEST_TMPDIR/img.tar"
  bk_run 0 "$BOXRUN" run --rm "test/$N-t:2" cat /www/index.html
  assert_output "page-$P"
  bk_run 0 "$BOXRUN" rmi "test/$N-t:2"
}

@test "push, pull, and run pulls an image the store lacks (a private registry)" {
  require_cmd docker-registry
  . "$BATS_TEST_DIRNAME/../regpull/registry.bash"
  local reg=127.0.0.1:$(free_port)
  registry_start "$W/reg-$BATS_TEST_NUMBER" "${reg#*:}" 3>&-
  bk_run 0 "$BOXRUN" push "$IMG" "$reg/boxrun/$N:1"
  bk_run 0 "$BOXRUN" tag "$IMG" "$reg/boxrun/$N:2"
  bk_run 0 "$BOXRUN" push "$reg/boxrun/$N:2"
  bk_run 0 "$BOXRUN" rmi "$reg/boxrun/$N:2"
  bk_run 0 "$BOXRUN" pull "$reg/boxrun/$N:2"
  assert_line --regexp "^$reg/boxrun/$N:2@sha256:[0-9a-f]{64}$"
  bk_run 0 "$BOXRUN" run --rm "$reg/boxrun/$N:1" cat /www/index.html    # not in the store: pulled first
  assert_output "page-$P"
  assert_regex "$stderr" "Pulling from boxrun/$N"
  bk_run 0 "$BOXRUN" rmi "$reg/boxrun/$N:1" "$reg/boxrun/$N:2"
}

@test "inspect BOX: its config and, while it runs, nsjail-lite's record" {
  bk_run 4 "$BOXRUN" run --name "$N" --hostname h-$N "$IMG" sh -c 'exit 4'
  bk_run 0 "$BOXRUN" inspect "$N"
  assert_equal "$(jq -r '[.name, .hostname, .status, .exit_code, .record] | map(tostring) | join(" ")' <<<"$output")" \
    "$N h-$N exited 4 null"
  assert_equal "$(jq -c .command <<<"$output")" '["sh","-c","exit 4"]'
}
