#!/usr/bin/env bats
# nsjail-lite: namespaces, pid 1, rootless boxes and named boxes. Runs as
# root (CI is root); the rootless cases run as nobody through setpriv. Each
# namespace is proven from inside the box.

load helpers

NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

setup_file() {
  export ROOT=$BATS_FILE_TMPDIR/rootfs
  make_busybox_root "$ROOT"
  # A place nobody can reach (bats' own temporary directories are 0700).
  SHARED=$(mktemp -d /tmp/bk-nsjail-test.XXXXXX)
  chmod 0755 "$SHARED"
  chown 65534:65534 "$SHARED"
  export SHARED
}

teardown_file() {
  rm -rf "$SHARED"
}

setup() {
  require_root
  cd "$BATS_TEST_TMPDIR"
  export BOXKIT_RUN=$BATS_TEST_TMPDIR/run
}

# Every box a test left running goes: kill its first process (pid 1 takes
# its namespace along) and its supervisor.
teardown() {
  local dir f pid sup
  for dir in "$BOXKIT_RUN" "$SHARED/run"; do
    for f in "$dir"/*.json; do
      [ -e "$f" ] || continue
      pid=$(jq -r .pid "$f"); sup=$(jq -r .supervisor_pid "$f")
      [ "$pid" -gt 0 ] && kill -KILL "$pid" 2>/dev/null
      [ "$sup" -gt 0 ] && kill -KILL "$sup" 2>/dev/null
      rm -f "$f"
    done
  done
  [ -z "${BG:-}" ] || kill -KILL "$BG" 2>/dev/null || true
  [ -z "${TESTUSER:-}" ] || userdel -r "$TESTUSER" 2>/dev/null || true
  return 0
}

# Wait until a file exists (a box said it is ready), at most 10 s.
wait_for() {
  local i
  for i in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done
  echo "timed out waiting for $1" >&2; return 1
}

# Run a command with SIGINT and SIGQUIT at their defaults (a background job
# of a script starts with them ignored, and a box would inherit that). An
# array, not a function, so that `$!` is the command's own pid.
DEFAULT_SIGNALS=(python3 -c 'import os, signal, sys
for s in (signal.SIGINT, signal.SIGQUIT): signal.signal(s, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])')

# ---- exit codes ---------------------------------------------------------

@test "exit codes: true 0, false 1, missing 127, not executable 126, bad input 125 (with and without a child)" {
  printf '#!/bin/sh\necho hi\n' > noexec; chmod 0644 noexec
  for mode in "--uts" "--pid"; do
    while read -r want args; do
      # shellcheck disable=SC2086
      bk_run "$want" nsjail-lite $mode $args
    done <<EOT
0   -- /bin/true
1   -- /bin/false
127 -- /no/such/command
126 -- $PWD/noexec
125 --no-such-flag -- /bin/true
125 --
125 --name ../x -- /bin/true
125 --map-user root -- /bin/true
125 --uid-map 0:1:0 -- /bin/true
125 --keep-fd 1 -- /bin/true
125 --keep-fd 99 -- /bin/true
125 --map-root --map-user 1:1 -- /bin/true
125 --hostname $(printf 'h%.0s' $(seq 65)) -- /bin/true
EOT
  done
  bk_run 125 nsjail-lite --pid /bin/true
  bk_run 125 nsjail-lite bogus-subcommand
}

@test "every exit code 0-255 passes through the parent that waits" {
  local c st
  for c in $(seq 0 255); do
    st=0; nsjail-lite --pid -- /bin/sh -c "exit $c" || st=$?
    [ "$st" -eq "$c" ] || { echo "exit $c came back as $st" >&2; return 1; }
  done
  for c in 0 1 42 254 255; do
    st=0; nsjail-lite --uts -- /bin/sh -c "exit $c" || st=$?
    [ "$st" -eq "$c" ] || { echo "direct: exit $c came back as $st" >&2; return 1; }
  done
}

@test "a command killed by signal S exits 128+S" {
  bk_run 137 nsjail-lite --uts -- /bin/sh -c 'kill -KILL $$'
  bk_run 143 nsjail-lite --pid --init -- /bin/sh -c 'kill -TERM $$'
  bk_run 139 nsjail-lite --name seg --init -- /bin/sh -c 'kill -SEGV $$'
  # pid 1 of a PID namespace killed from outside
  nsjail-lite --pid -- /bin/sleep 100 & BG=$!
  local child
  for _ in $(seq 50); do child=$(pgrep -P "$BG") && break; sleep 0.1; done
  kill -KILL "$child"
  local st=0; wait "$BG" || st=$?
  BG=
  assert_equal "$st" 137
}

@test "errors have the one shape, with a hint" {
  bk_run 127 nsjail-lite --pid -- /bin/nope
  assert_equal "$output" ""
  assert_regex "$stderr" '^nsjail-lite: cannot run /bin/nope: execvp\("/bin/nope", \["/bin/nope"\]\): No such file or directory \(ENOENT\)'
  assert_regex "$stderr" 'nsjail-lite: hint: '
  bk_run 125 nsjail-lite --bogus -- true
  assert_regex "$stderr" "^nsjail-lite: cannot understand the command line: .*"$'\n'"nsjail-lite: hint: see 'nsjail-lite --help'"
}

@test "--help and --version exit 0 on stdout" {
  bk_run 0 nsjail-lite --help
  assert_output --partial "Usage: nsjail-lite"
  assert_output --partial "Lesson: lessons/03-namespaces"
  assert_output --partial "nsjail-lite exec NAME"
  # The subcommands are built only when the command line may name one, or
  # asks for help: every way of asking still lists them.
  local ask
  for ask in --help -h -vh "--pid --help"; do
    bk_run 0 nsjail-lite $ask
    assert_output --regexp $'Subcommands:\n  ps +List the running boxes\n  exec '
  done
  bk_run 0 nsjail-lite --quiet ps --help
  assert_output --partial "Usage: nsjail-lite ps [OPTIONS]"
  bk_run 125 nsjail-lite --pid pss     # not a subcommand: the usual error
  assert_regex "$stderr" "cannot understand the command line"
  bk_run 0 nsjail-lite --version
  assert_output --regexp '^nsjail-lite [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "--explain narrates on stderr and leaves stdout clean" {
  bk_run 0 nsjail-lite --explain --pid --net --uts --hostname web -- /bin/echo hello
  assert_output "hello"
  assert_regex "$stderr" "explain: .*: clone\(CLONE_NEWUTS\|CLONE_NEWPID\|CLONE_NEWNET\|SIGCHLD\) = [0-9]+"
  assert_regex "$stderr" 'explain: .*: sethostname\("web", 3\)'
  assert_regex "$stderr" 'explain: .*: ioctl\(.*SIOCSIFFLAGS'
  assert_regex "$stderr" 'explain: .*: execvp\("/bin/echo"'
  bk_run 0 nsjail-lite --explain --uts -- /bin/echo hello
  assert_output "hello"
  assert_regex "$stderr" 'explain: .*: unshare\(CLONE_NEWUTS\)'
  # BOXKIT_EXPLAIN travels down the chain
  bk_run 0 nsjail-lite --explain --mount -- chrootify "$ROOT" -- /bin/echo hi
  assert_output "hi"
  assert_regex "$stderr" 'chrootify: explain: '
}

# ---- each namespace, proven from inside ---------------------------------

@test "--pid: the command is pid 1 and sees only its own processes" {
  bk_run 0 nsjail-lite --pid -- /bin/sh -c 'echo $$'
  assert_output "1"
  bk_run 0 nsjail-lite --mount-proc -- /bin/sh -c 'ls -d /proc/[0-9]* > list; wc -l < list; cat /proc/1/cmdline | tr "\0" " "'
  assert_line --index 0 "1"   # the shell expands the glob: it is alone
  assert_line --index 1 --partial "/bin/sh -c"
  assert_equal "$(mounts_under /proc | sort -u)" "$(awk '$5 == "/proc" {print $5}' /proc/self/mountinfo | sort -u)"
}

@test "--pid --mount without --mount-proc keeps the host's /proc, as unshare does" {
  bk_run 0 nsjail-lite --pid --mount -- /bin/sh -c 'echo $$; set -- /proc/[0-9]*; echo $#; awk "\$5 == \"/proc\"" /proc/self/mountinfo | wc -l'
  assert_line --index 0 "1"
  [ "${lines[1]}" -gt 1 ]     # the host's processes
  assert_line --index 2 "$(awk '$5 == "/proc"' /proc/self/mountinfo | wc -l)"  # no /proc mounted on top
  bk_run 0 nsjail-lite --all -- /bin/sh -c 'set -- /proc/[0-9]*; echo $#'
  assert_output "1"           # --all includes --mount-proc: the shell is alone
}

@test "--uts: its own hostname; the host's stays" {
  local before; before=$(hostname)
  bk_run 0 nsjail-lite --hostname box-uts-test -- /bin/hostname
  assert_output "box-uts-test"
  assert_equal "$(hostname)" "$before"
}

@test "--net: only loopback, and it is up" {
  bk_run 0 nsjail-lite --net -- /bin/sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "; ip -o link show lo'
  assert_line --index 0 "lo"
  assert_equal "${#lines[@]}" 2
  assert_line --index 1 --regexp '<LOOPBACK,UP,LOWER_UP>'
  bk_run 0 nsjail-lite --net -- python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
socket.create_connection(s.getsockname()); print("connected")'
  assert_output "connected"
}

@test "--mount: a mount inside is invisible from the host" {
  mkdir -p mnt
  bk_run 0 nsjail-lite --mount -- /bin/sh -c "mount -t tmpfs inside $PWD/mnt && touch $PWD/mnt/only-inside && ls $PWD/mnt"
  assert_output "only-inside"
  assert_equal "$(mounts_under "$PWD/mnt")" ""
  assert_file_not_exists mnt/only-inside
}

@test "--ipc: a message queue made inside is not the host's" {
  local before; before=$(ipcs -q | grep -c '^0x' || true)
  bk_run 0 nsjail-lite --ipc -- /bin/sh -c 'ipcmk -Q >/dev/null && ipcs -q | grep -c "^0x"'
  assert_output "1"
  assert_equal "$(ipcs -q | grep -c '^0x' || true)" "$before"
}

@test "--cgroup: its own cgroup looks like the root" {
  [ "$(cat /proc/self/cgroup)" != "0::/" ] || skip "this shell is already at the root of the cgroup tree"
  bk_run 0 nsjail-lite --cgroup -- cat /proc/self/cgroup
  assert_line "0::/"
}

@test "--all: every namespace at once" {
  bk_run 0 nsjail-lite --all --hostname all-box -- /bin/sh -c 'echo $$; hostname; tail -n +3 /proc/net/dev | wc -l'
  assert_output $'1\nall-box\n1'
  local kind
  bk_run 0 nsjail-lite --all -- /bin/sh -c 'for k in pid uts ipc mnt net cgroup; do readlink /proc/self/ns/$k; done'
  for kind in pid uts ipc mnt net cgroup; do
    refute_output --partial "$(readlink /proc/self/ns/$kind)"
  done
}

# ---- the chain: nsjail-lite | chrootify ---------------------------------

@test "nsjail-lite --pid --mount -- chrootify --pivot --proc ROOT works, and leaves no mount" {
  bk_run 0 nsjail-lite --pid --mount -- chrootify --pivot --proc "$ROOT" -- /bin/sh -c 'echo $$; ps -o pid,comm | tail -n +2'
  assert_line --index 0 "1"
  assert_line --index 1 --regexp '^ *1 sh$'
  assert_equal "$(mounts_under "$ROOT")" ""
  bk_run 0 nsjail-lite --all --hostname chained -- chrootify --pivot --proc --dev "$ROOT" -- /bin/hostname
  assert_output "chained"
}

# ---- rootless -----------------------------------------------------------

@test "as an ordinary user, without --user: EPERM that says why and what to try" {
  cd "$SHARED"
  bk_run 125 "${NOBODY[@]}" nsjail-lite --pid -- /bin/true
  assert_regex "$stderr" 'cannot .*clone\(CLONE_NEWPID\|SIGCHLD\): Operation not permitted \(EPERM\)'
  assert_regex "$stderr" 'hint: .*needs root.*--user'
  bk_run 125 "${NOBODY[@]}" nsjail-lite --net -- /bin/true
  assert_regex "$stderr" 'unshare\(CLONE_NEWNET\): Operation not permitted'
}

@test "rootless --user: root inside, nobody outside" {
  cd "$SHARED"
  bk_run 0 "${NOBODY[@]}" nsjail-lite --user -- /bin/sh -c 'id -u; id -g; cat /proc/self/uid_map /proc/self/setgroups; touch made-inside'
  assert_line --index 0 "0"
  assert_line --index 1 "0"
  assert_line --index 2 --regexp '^ +0 +65534 +1$'
  assert_line --index 3 "deny"
  assert_equal "$(stat -c %u:%g made-inside)" "65534:65534"
  rm -f made-inside
}

@test "rootless --all: pid 1, its own hostname, only lo, and a pivoted root" {
  cd "$SHARED"
  cp -a "$ROOT" "$SHARED/root"
  bk_run 0 "${NOBODY[@]}" nsjail-lite --all --hostname rootless -- /bin/sh -c 'echo $$; hostname; tail -n +3 /proc/net/dev | wc -l; id -u'
  assert_output $'1\nrootless\n1\n0'
  bk_run 0 "${NOBODY[@]}" nsjail-lite --all -- chrootify --pivot --proc "$SHARED/root" -- /bin/sh -c 'ps -o pid,comm | tail -n +2'
  assert_line --index 0 --regexp '^ *1 sh$'
  rm -rf "$SHARED/root"
}

@test "rootless --explain narrates the clone, the map writes and, for exec, every setns" {
  cd "$SHARED"
  export BOXKIT_RUN=$SHARED/run
  bk_run 0 "${NOBODY[@]}" nsjail-lite --explain --user --pid --net --name told --detach -- /bin/sleep 300
  assert_output "told"
  assert_regex "$stderr" 'explain: .*: clone\(CLONE_NEWUSER\|CLONE_NEWPID\|CLONE_NEWNET\|SIGCHLD\) = [0-9]+'
  assert_regex "$stderr" 'explain: .*: write\("/proc/[0-9]+/setgroups", "deny"\)'
  assert_regex "$stderr" 'explain: .*: write\("/proc/[0-9]+/uid_map", "0 65534 1"\)'
  assert_regex "$stderr" 'explain: .*: write\("/proc/[0-9]+/gid_map", "0 65534 1"\)'
  bk_run 0 "${NOBODY[@]}" nsjail-lite --explain exec told -- /bin/true
  assert_equal "$output" ""
  assert_regex "$stderr" 'setns\([0-9]+ /\* /proc/[0-9]+/ns/user \*/, CLONE_NEWUSER\)'
  assert_regex "$stderr" 'setns\([0-9]+ /\* /proc/[0-9]+/ns/net \*/, CLONE_NEWNET\)'
  assert_regex "$stderr" 'setns\([0-9]+ /\* /proc/[0-9]+/ns/pid \*/, CLONE_NEWPID\)'
  bk_run 0 "${NOBODY[@]}" nsjail-lite kill told
}

@test "rootless --map-user: another id inside, the caller outside" {
  cd "$SHARED"
  bk_run 0 "${NOBODY[@]}" nsjail-lite --map-user 1000:100 -- /bin/sh -c 'id -u; id -g'
  assert_output $'1000\n100'
}

@test "rootless ranges through newuidmap/newgidmap and /etc/subuid" {
  require_cmd newuidmap
  require_cmd useradd
  TESTUSER=bknsj$$
  useradd -M -s /bin/sh "$TESTUSER" || skip "cannot add a user"
  local uid sub
  uid=$(id -u "$TESTUSER")
  sub=$(awk -F: -v u="$TESTUSER" '$1 == u {print $2}' /etc/subuid)
  [ -n "$sub" ] || skip "useradd gave $TESTUSER no /etc/subuid range"
  cd "$SHARED"
  bk_run 0 setpriv --reuid="$uid" --regid="$uid" --clear-groups nsjail-lite \
    --uid-map "0:$uid:1" --uid-map "1:$sub:1000" --gid-map "0:$uid:1" --gid-map "1:$sub:1000" -- \
    /bin/sh -c 'cat /proc/self/uid_map; cat /proc/self/setgroups'
  assert_line --index 0 --regexp "^ +0 +$uid +1$"
  assert_line --index 1 --regexp "^ +1 +$sub +1000$"
  assert_line --index 2 "allow"
  # a range not granted is refused by the helper, with the hint
  bk_run 125 setpriv --reuid="$uid" --regid="$uid" --clear-groups nsjail-lite --uid-map "0:$uid:1" --uid-map 1:1:10 -- /bin/true
  assert_regex "$stderr" 'hint: .*/etc/subuid'
}

# ---- pid 1, signals, the parent's death ------------------------------------

@test "signals sent to nsjail-lite reach the command" {
  local sig
  for sig in TERM INT HUP QUIT USR1 USR2 WINCH; do
    rm -f ready
    "${DEFAULT_SIGNALS[@]}" nsjail-lite --pid -- /bin/sh -c "trap 'echo got $sig; exit 7' $sig; touch ready; while :; do sleep 0.1; done" > out &
    BG=$!
    wait_for ready
    kill -"$sig" "$BG"
    local st=0; wait "$BG" || st=$?
    assert_equal "$st" 7
    assert_equal "$(cat out)" "got $sig"
  done
  BG=
}

@test "--init forwards signals to a command that set no handler" {
  rm -f ready
  nsjail-lite --pid --init -- /bin/sh -c 'touch ready; exec sleep 100' &
  BG=$!
  wait_for ready
  sleep 0.2
  kill -TERM "$BG"
  local st=0; wait "$BG" || st=$?
  assert_equal "$st" 143
  BG=
}

@test "without --init, pid 1 ignores a signal it has no handler for" {
  bk_run 0 nsjail-lite --pid -- /bin/sh -c 'kill -TERM $$; echo still here'
  assert_output "still here"
}

@test "--init reaps 100 orphans and leaves no zombie" {
  bk_run 0 nsjail-lite --mount-proc --init -- /bin/sh -c '
    for i in $(seq 100); do /bin/sh -c "/bin/sleep 5 &"; done
    sleep 0.5
    echo orphans: $(cat /proc/[0-9]*/stat 2>/dev/null | grep -c "(sleep)")
    sleep 5
    echo zombies: $(cat /proc/[0-9]*/stat 2>/dev/null | awk "\$3 == \"Z\"" | wc -l)
    echo left: $(cat /proc/[0-9]*/stat 2>/dev/null | grep -c "(sleep)")'
  assert_line --index 0 "orphans: 100"
  assert_line --index 1 "zombies: 0"
  assert_line --index 2 "left: 0"
}

@test "killing nsjail-lite with SIGKILL leaves no process of the box running" {
  rm -f ready
  nsjail-lite --pid -- /bin/sh -c 'sleep 300 & sleep 300 & touch ready; wait' &
  BG=$!
  wait_for ready
  local child ns
  child=$(pgrep -P "$BG")
  ns=$(readlink "/proc/$child/ns/pid")
  kill -KILL "$BG"
  wait "$BG" || true
  BG=
  local left
  for _ in $(seq 50); do
    left=$(for p in /proc/[0-9]*; do [ "$(readlink "$p/ns/pid" 2>/dev/null)" != "$ns" ] || echo "$p"; done)
    [ -z "$left" ] && break
    sleep 0.1
  done
  assert_equal "$left" ""
}

@test "the command inherits only fds 0, 1 and 2 (and --keep-fd)" {
  exec 7</dev/null 8</dev/null
  bk_run 0 nsjail-lite --pid --mount -- /bin/sh -c 'exec ls /proc/self/fd'
  assert_output $'0\n1\n2\n3'   # 3: the directory ls reads
  bk_run 0 nsjail-lite --uts -- /bin/sh -c 'exec ls /proc/self/fd'
  assert_output $'0\n1\n2\n3'   # 3: the directory ls reads
  bk_run 0 nsjail-lite --pid --mount --keep-fd 7 -- /bin/sh -c 'exec ls /proc/self/fd'
  assert_output $'0\n1\n2\n3\n7'
  exec 7<&- 8<&-
}

@test "from a terminal, a shell in the box has job control" {
  require_cmd script
  bk_run 0 script -qec "nsjail-lite --pid --uts --ipc --net -- /bin/bash --norc -i" /dev/null \
    < <(printf 'sleep 1 &\njobs\necho "pid=$$"\nexit\n')
  refute_output --partial "no job control"
  assert_output --partial "Running"
  assert_output --partial "pid=1"
}

@test "from a terminal, the box gets a terminal and a session of its own; the caller's is restored" {
  require_cmd script
  # script(1) gives us a terminal; tr drops the \r a terminal adds, sed the
  # ^@ the box's terminal may echo when script passes on the end of its stdin.
  bk_run 0 script -qec 'tty; stty -g; nsjail-lite --mount-proc -- /bin/sh -c "tty; cut -d\" \" -f6 /proc/self/stat; exit 7"; echo rc=$?; stty -g' /dev/null </dev/null
  output=$(tr -d '\r\0' <<<"$output" | sed 's/\^@//g')
  lines=(${output})
  [[ ${lines[0]} == /dev/pts/* ]]
  [[ ${lines[2]} == /dev/pts/* ]]
  [ "${lines[2]}" != "${lines[0]}" ]   # a new pseudo-terminal
  assert_equal "${lines[3]}" "1"        # its session is the box's pid 1's
  assert_equal "${lines[4]}" "rc=7"     # the exit status passes through
  assert_equal "${lines[5]}" "${lines[1]}"  # the caller's terminal modes are back
  # --no-tty passes the caller's terminal through.
  bk_run 0 script -qec 'tty; nsjail-lite --no-tty --pid -- tty' /dev/null </dev/null
  output=$(tr -d '\r' <<<"$output")
  lines=(${output})
  assert_equal "${lines[0]}" "${lines[1]}"
  # exec into a named box, from a terminal, gets a terminal of its own too.
  bk_run 0 nsjail-lite --pid --mount --name ttybox --detach -- /bin/sleep 300
  bk_run 0 script -qec 'tty; nsjail-lite exec ttybox -- /bin/sh -c "tty; exit 3"; echo rc=$?' /dev/null </dev/null
  output=$(tr -d '\r\0' <<<"$output" | sed 's/\^@//g')
  lines=(${output})
  [[ ${lines[1]} == /dev/pts/* ]]
  [ "${lines[1]}" != "${lines[0]}" ]
  assert_equal "${lines[2]}" "rc=3"
  bk_run 0 nsjail-lite kill ttybox
}

@test "from a terminal, ^C reaches the box's foreground process and nothing else" {
  require_cmd script
  bk_run 0 script -qec 'nsjail-lite --pid --init -- sleep 30; echo rc=$?' /dev/null < <(sleep 1; printf '\003'; sleep 1)
  assert_output --partial "rc=130"      # sleep died of SIGINT, from the box's own terminal
}

@test "^C at a terminal reaches a box that has none once: nsjail-lite (and its --init) do not pass it on again" {
  require_cmd script
  require_cmd python3
  # pid 1 of the box counts its SIGINTs. Its stdin is not a terminal, so the
  # box gets none of its own and stays in the terminal's process group: the
  # terminal's ^C reaches it directly.
  cat > count.py <<'PY'
import signal, time
n = 0
def got(sig, frame):
    global n
    n += 1
signal.signal(signal.SIGINT, got)
open("ready", "w").close()
while n == 0:
    time.sleep(0.02)
time.sleep(1)
print("SIGINTs:", n)
PY
  local init
  for init in "" --init; do
    rm -f ready
    bk_run 0 script -qec "exec nsjail-lite --pid $init -- python3 count.py </dev/null" /dev/null \
      < <(wait_for ready; printf '\003'; sleep 3)
    assert_output --partial "SIGINTs: 1"
  done
}

# ---- named boxes --------------------------------------------------------

@test "exec into a box that chrootify is still setting up does not stop it from mounting" {
  # docker run -d, then docker exec at once: the exec may come while the
  # box's chain is still at work. Here the box waits for "go" before its
  # chrootify starts, and an exec'd command is in the box meanwhile.
  make_busybox_root "$BATS_TEST_TMPDIR/root"
  bk_run 0 nsjail-lite --pid --mount --name early --detach -- /bin/sh -c \
    "while [ ! -e go ]; do sleep 0.05; done; exec chrootify --pivot --proc $BATS_TEST_TMPDIR/root -- /bin/sleep 60"
  nsjail-lite exec early -- /bin/sh -c 'touch joined; exec sleep 30' </dev/null & BG=$!
  wait_for joined
  touch go
  local i comm=
  for i in $(seq 50); do
    comm=$(nsjail-lite exec early -- /bin/cat /proc/1/comm 2>/dev/null </dev/null) || true
    [ "$comm" = sleep ] && break
    sleep 0.1
  done
  bk_run 0 nsjail-lite logs early
  refute_output --partial "cannot"
  assert_equal "$comm" "sleep"     # pid 1 is the box's command, in its own /proc
  bk_run 0 nsjail-lite kill early
}

@test "--detach prints the name; ps, inspect and logs show the box" {
  bk_run 0 nsjail-lite --all --hostname web --name web --detach -- /bin/sh -c 'echo started; exec sleep 300'
  assert_output "web"
  bk_run 0 nsjail-lite ps
  assert_line --index 0 --regexp '^NAME +PID +STATUS +NAMESPACES +COMMAND$'
  assert_line --index 1 --regexp '^web +[0-9]+ +up [0-9]+s +cgroup,ipc,mnt,net,pid,uts +/bin/sh -c echo started; exec sleep 300$'
  bk_run 0 nsjail-lite ps --json
  assert_equal "$(jq -r '.[0].name, .[0].running, .[0].hostname' <<<"$output")" $'web\ntrue\nweb'
  local pid; pid=$(jq -r '.[0].pid' <<<"$output")
  assert_equal "$(jq -r '.[0].namespace_ids.net' <<<"$output")" "$(readlink /proc/$pid/ns/net)"
  bk_run 0 nsjail-lite inspect web
  assert_line --regexp '^status: +running$'
  bk_run 0 nsjail-lite inspect web --json
  assert_equal "$(jq -r .start_time <<<"$output")" "$(awk '{print $22}' /proc/$pid/stat)"
  for _ in $(seq 20); do grep -q started "$BOXKIT_RUN/web.log" && break; sleep 0.1; done
  bk_run 0 nsjail-lite logs web
  assert_output "started"
}

@test "exec joins a running box: its processes, hostname, files, root and cwd" {
  bk_run 0 nsjail-lite --all --hostname joinme --name j1 --detach -- chrootify --pivot --proc "$ROOT" -w /tmp -- \
    /bin/sh -c 'echo secret > /tmp/only-in-box; exec sleep 300'
  for _ in $(seq 50); do nsjail-lite exec j1 -- test -e /tmp/only-in-box 2>/dev/null && break; sleep 0.1; done
  bk_run 0 nsjail-lite exec j1 -- /bin/sh -c 'hostname; cat /tmp/only-in-box; pwd; ps -o pid,comm | tail -n +2'
  assert_line --index 0 "joinme"
  assert_line --index 1 "secret"
  assert_line --index 2 "/tmp"
  assert_line --index 3 --regexp '^ *1 sleep$'
  assert_file_not_exists /tmp/only-in-box
  # "--" may be left out; the exit status is the command's
  bk_run 0 nsjail-lite exec j1 hostname
  assert_output "joinme"
  bk_run 3 nsjail-lite exec j1 /bin/sh -c 'exit 3'
  bk_run 127 nsjail-lite exec j1 -- /no/such
  bk_run 125 nsjail-lite exec nosuchbox -- /bin/true
  assert_regex "$stderr" "cannot find a running box named nosuchbox"
  # The caller's environment, or only -e's (docker exec -e)
  CALLER=1 bk_run 0 nsjail-lite exec -e A=b j1 -- /bin/sh -c 'echo "$CALLER $A"'
  assert_output "1 b"
  CALLER=1 bk_run 0 nsjail-lite exec --clear-env -e A=b j1 -- /bin/env
  assert_output "A=b"          # not even BOXKIT_RUN, which found the box
  bk_run 125 nsjail-lite exec -e NOEQUALS j1 -- /bin/true
  assert_regex "$stderr" "hint: -e takes NAME=VALUE"
}

@test "two boxes cannot share a name; a stale record does not block one" {
  bk_run 0 nsjail-lite --pid --name twin --detach -- /bin/sleep 300
  bk_run 125 nsjail-lite --pid --name twin --detach -- /bin/sleep 300
  assert_regex "$stderr" 'cannot name the box twin: link\(.*\): File exists \(EEXIST\)'
  assert_regex "$stderr" "hint: .*nsjail-lite ps"
  bk_run 125 nsjail-lite --name twin -- /bin/true
  # a record whose pid is gone (or reused by another process) is stale
  jq -n '{name: "ghost", pid: 999999, start_time: 1, command: ["x"]}' > "$BOXKIT_RUN/ghost.json"
  bk_run 0 nsjail-lite ps
  refute_output --partial ghost
  bk_run 0 nsjail-lite ps --all
  assert_output --partial "ghost"
  assert_output --partial "stale"
  bk_run 0 nsjail-lite --pid --name ghost -- /bin/echo fresh
  assert_output "fresh"
  assert_file_not_exists "$BOXKIT_RUN/ghost.json"   # the record goes when the box ends
}

@test "boxes started at the same moment with one name: exactly one gets it" {
  local i
  for i in 1 2 3 4 5 6; do
    nsjail-lite --pid --name race --detach -- /bin/sleep 300 > "out.$i" 2> "err.$i" &
  done
  wait
  assert_equal "$(cat out.* | grep -c '^race$')" 1
  assert_equal "$(cat err.* | grep -c 'cannot name the box race: .*(EEXIST)')" 5
  bk_run 0 nsjail-lite ps
  assert_equal "${#lines[@]}" 2
}

@test "stop: SIGTERM, then SIGKILL after the grace time; the record goes" {
  bk_run 0 nsjail-lite --pid --init --name polite --detach -- /bin/sleep 300
  bk_run 0 nsjail-lite stop polite
  assert_output "polite"
  assert_file_not_exists "$BOXKIT_RUN/polite.json"
  # pid 1 without --init ignores SIGTERM: stop has to kill it
  bk_run 0 nsjail-lite --pid --name stubborn --detach -- /bin/sleep 300
  bk_run 0 nsjail-lite -v stop --time 0.5 stubborn
  assert_regex "$stderr" "did not end within the grace time"
  assert_file_not_exists "$BOXKIT_RUN/stubborn.json"
  bk_run 0 nsjail-lite ps --all
  assert_equal "${#lines[@]}" 1
  bk_run 125 nsjail-lite stop stubborn
}

@test "kill sends the signal; the foreground nsjail-lite passes on the status" {
  rm -f ready
  nsjail-lite --pid --name fg -- /bin/sh -c 'trap "exit 9" USR1; touch ready; while :; do sleep 0.1; done' &
  BG=$!
  wait_for ready
  bk_run 0 nsjail-lite kill --signal USR1 fg
  local st=0; wait "$BG" || st=$?
  assert_equal "$st" 9
  BG=
  bk_run 125 nsjail-lite kill --signal NOPE fg
}

@test "logs --follow prints until the box ends" {
  bk_run 0 nsjail-lite --pid --name chatty --detach -- /bin/sh -c 'for i in 1 2 3; do echo line $i; sleep 0.2; done'
  bk_run 0 nsjail-lite logs --follow chatty
  assert_output $'line 1\nline 2\nline 3'
  bk_run 125 nsjail-lite logs never-was
  assert_regex "$stderr" "hint: only boxes started with --detach keep a log"
}

@test "a detached box whose command is missing fails up front, in the terminal" {
  bk_run 127 nsjail-lite --pid --name nocmd --detach -- /no/such/command
  assert_regex "$stderr" 'cannot run /no/such/command'
  assert_equal "$output" ""
  assert_file_not_exists "$BOXKIT_RUN/nocmd.json"
}

@test "rootless named box: detach, exec, stop as an ordinary user" {
  cd "$SHARED"
  export BOXKIT_RUN=$SHARED/run
  bk_run 0 "${NOBODY[@]}" nsjail-lite --all --hostname mine --name mine --detach -- /bin/sleep 300
  assert_output "mine"
  bk_run 0 "${NOBODY[@]}" nsjail-lite exec mine -- /bin/sh -c 'hostname; id -u; echo $$'
  assert_output $'mine\n0\n2'
  bk_run 0 "${NOBODY[@]}" nsjail-lite stop --time 1 mine
  assert_file_not_exists "$SHARED/run/mine.json"
}

# ---- hostile input ------------------------------------------------------

@test "hostile names and paths change nothing outside the run directory" {
  mkdir -p sentinel/run; echo keep > sentinel/file; ln -s /etc sentinel/link
  local before; before=$(tree_digest sentinel)
  export BOXKIT_RUN=$PWD/run
  local n
  for n in ../sentinel/file ../sentinel/link /etc/passwd .hidden -dash 'a b' "$(printf 'x%.0s' $(seq 65))" ''; do
    bk_run 125 nsjail-lite --name "$n" -- /bin/true
    bk_run 125 nsjail-lite stop "$n"
    bk_run 125 nsjail-lite kill "$n"
    bk_run 125 nsjail-lite inspect "$n"
    bk_run 125 nsjail-lite logs "$n"
    bk_run 125 nsjail-lite exec "$n" -- /bin/true
  done
  # a record file planted by hand that names another box, or garbage
  mkdir -p run
  echo '{not json' > run/junk.json
  jq -n '{name: "../sentinel/file", pid: 1, start_time: 1}' > run/evil.json
  bk_run 0 nsjail-lite ps --all
  refute_output --partial sentinel
  bk_run 125 nsjail-lite stop evil
  assert_equal "$(tree_digest sentinel)" "$before"
  rm -f run/junk.json run/evil.json
}
