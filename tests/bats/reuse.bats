#!/usr/bin/env bats
# Pid, clock and name reuse (issue 10): a recycled pid is never taken for a
# box. A named box's record (lib/boxes) holds its pid and that pid's start
# time (field 22 of /proc/PID/stat, clock ticks since boot). Here a box dies
# with its record left behind (its supervisor is SIGKILLed), and its pid is
# handed to a stranger on purpose: /proc/sys/kernel/ns_last_pid names the
# pid the next fork gets (in the host's pid namespace, or in a new one where
# pids start again at 1). ps, inspect, exec, stop and kill must not take the
# stranger for the box, the stranger must live, and the name must be free.
# Wall-clock times in the record ("started") play no part in the verdict.

load helpers

setup() {
  require_root
  require_cmd nsjail-lite
  [ -w /proc/sys/kernel/ns_last_pid ] || skip "needs a writable /proc/sys/kernel/ns_last_pid"
  cd "$BATS_TEST_TMPDIR"
  export BOXKIT_RUN=$BATS_TEST_TMPDIR/run
  NAME=reuse-$$-$BATS_TEST_NUMBER
  PIDS=()
}

teardown() {
  local p
  # Only what this test started, by pid: strangers, and any box still up.
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  nsjail-lite stop --time 0 "$NAME" >/dev/null 2>&1 || true
}

# box_pid NAME: the pid in NAME's record, once the supervisor has written it.
box_pid() {
  local p _
  for _ in $(seq 100); do
    p=$(jq -r .pid "$BOXKIT_RUN/$1.json" 2>/dev/null || true)
    [ "${p:-0}" -gt 0 ] 2>/dev/null && { echo "$p"; return 0; }
    sleep 0.05
  done
  return 1
}

# stale_box NAME: a box whose supervisor is SIGKILLed: the box dies with it
# and its record stays. Sets P (the box's pid) and START (its start time).
stale_box() {
  nsjail-lite --name "$1" --pid -- /bin/sleep 987611 3>&- &
  local sup=$! _
  PIDS+=("$sup")
  P=$(box_pid "$1")
  START=$(jq -r .start_time "$BOXKIT_RUN/$1.json")
  kill -9 "$sup"
  wait "$sup" 2>/dev/null || true
  for _ in $(seq 100); do [ -e "/proc/$P" ] || return 0; sleep 0.05; done
  echo "box pid $P did not go" >&2
  return 1
}

# take_pid PID: start a stranger (sleep) as exactly PID, in this pid
# namespace. Any fork on the machine may come first, so try again until the
# kernel hands out PID. Sets STRANGER.
take_pid() {
  local want=$1 _
  for _ in $(seq 300); do
    echo $((want - 1)) > /proc/sys/kernel/ns_last_pid
    /bin/sleep 987612 3>&- &
    PIDS+=("$!")
    if [ "$!" -eq "$want" ]; then STRANGER=$!; return 0; fi
    kill "$!"; wait "$!" 2>/dev/null || true
  done
  echo "could not get pid $want" >&2
  return 1
}

start_time_of() { awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$1/stat"; }

# The stranger is alive and is still the same process.
stranger_lives() {
  kill -0 "$STRANGER"
  assert_equal "$(start_time_of "$STRANGER")" "$STRANGER_START"
  assert_equal "$(cat /proc/$STRANGER/cmdline | tr '\0' ' ')" "/bin/sleep 987612 "
}

# Nothing takes the stale record for a running box.
not_a_box() {
  bk_run 0 nsjail-lite ps
  refute_output --partial "$NAME"
  bk_run 0 nsjail-lite ps --all --json
  assert_equal "$(echo "$output" | jq -r --arg n "$NAME" '.[] | select(.name == $n) | .running')" "false"
  bk_run 0 nsjail-lite ps --all
  assert_output --regexp "$NAME +$P +gone \(stale record\)"
  bk_run 0 nsjail-lite inspect "$NAME" --json
  assert_equal "$(echo "$output" | jq -r .running)" "false"
  bk_run 125 nsjail-lite exec "$NAME" -- /bin/true
  assert_regex "$stderr" "cannot find a running box named $NAME"
  bk_run 125 nsjail-lite stop --time 1 "$NAME"
  bk_run 125 nsjail-lite kill -s KILL "$NAME"
  bk_run 125 nsjail-lite kill -s TERM "$NAME"
  stranger_lives
}

@test "reuse: a box's pid given to a stranger: ps, inspect, exec, stop and kill do not take it for the box" {
  stale_box "$NAME"
  take_pid "$P"
  STRANGER_START=$(start_time_of "$STRANGER")
  # The same pid, another process: only the start time tells them apart.
  assert_equal "$(jq -r .pid "$BOXKIT_RUN/$NAME.json")" "$STRANGER"
  [ "$STRANGER_START" != "$START" ]
  not_a_box
  # The name is free: a new box takes it (the stale record goes), and runs.
  bk_run 0 nsjail-lite --name "$NAME" --uts --hostname reused -- /bin/hostname
  assert_output "reused"
  stranger_lives
}

@test "reuse: the name is free for a detached box, which ps then shows with its own pid" {
  stale_box "$NAME"
  take_pid "$P"
  STRANGER_START=$(start_time_of "$STRANGER")
  bk_run 0 nsjail-lite --name "$NAME" --pid --detach -- /bin/sleep 987613
  newpid=$(box_pid "$NAME")
  [ "$newpid" != "$P" ]
  bk_run 0 nsjail-lite ps --json
  assert_equal "$(echo "$output" | jq -r --arg n "$NAME" '.[] | select(.name == $n) | "\(.running) \(.pid)"')" "true $newpid"
  bk_run 0 nsjail-lite stop --time 2 "$NAME"
  stranger_lives
}

@test "reuse: the wall clock plays no part: 'started' moved back or forward changes no verdict" {
  # A live box whose record says it started in 1999, then in 2099: still running, still stoppable.
  nsjail-lite --name "$NAME" --pid -- /bin/sleep 987614 3>&- &
  PIDS+=("$!")
  P=$(box_pid "$NAME")
  for when in "1999-12-31T23:59:59Z 946684799" "2099-01-01T00:00:00Z 4070908800"; do
    set -- $when
    jq --arg s "$1" --argjson u "$2" '.started = $s | .started_unix = $u' "$BOXKIT_RUN/$NAME.json" > r.json
    mv r.json "$BOXKIT_RUN/$NAME.json"
    bk_run 0 nsjail-lite ps --json
    assert_equal "$(echo "$output" | jq -r --arg n "$NAME" '.[] | select(.name == $n) | .running')" "true"
  done
  bk_run 0 nsjail-lite stop --time 2 "$NAME"
  for _ in $(seq 100); do [ -e "/proc/$P" ] || break; sleep 0.05; done
  [ ! -e "/proc/$P" ]

  # A stale record whose 'started' is set to the stranger's own start (now): still not a box.
  stale_box "$NAME"
  take_pid "$P"
  STRANGER_START=$(start_time_of "$STRANGER")
  jq --arg s "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --argjson u "$(date +%s)" '.started = $s | .started_unix = $u' \
    "$BOXKIT_RUN/$NAME.json" > r.json
  mv r.json "$BOXKIT_RUN/$NAME.json"
  not_a_box
}

@test "reuse: in a new pid namespace pids start again: the process there with the box's number is not the box" {
  require_cmd unshare
  stale_box "$NAME"
  # Inside: pid 1 is bash, and ns_last_pid (of the new namespace) hands out P.
  cat > inside.sh <<EOF
set -e
echo \$(($P - 1)) > /proc/sys/kernel/ns_last_pid
/bin/sleep 987612 &
s=\$!
[ "\$s" -eq $P ] || { echo "got pid \$s, not $P"; exit 3; }
nsjail-lite ps --all --json | jq -r '.[] | select(.name == "$NAME") | "running=\(.running)"'
nsjail-lite stop --time 1 "$NAME" 2>&1 || echo "stop=\$?"
nsjail-lite kill -s KILL "$NAME" 2>&1 || echo "kill=\$?"
kill -0 \$s && echo "the stranger lives"
kill \$s
EOF
  bk_run 0 unshare --pid --fork --mount-proc bash inside.sh
  assert_line "running=null"   # made in another pid namespace: not judged from here
  assert_line "stop=125"
  assert_line "kill=125"
  assert_line "the stranger lives"
  assert_line --partial "cannot reach the box $NAME from this PID namespace"
}

@test "reuse: a reader in a time namespace whose boottime is set back to the box's start does not take the stranger for it" {
  require_cmd python3
  [ -e /proc/self/timens_offsets ] || skip "needs time namespaces (Linux 5.6)"
  stale_box "$NAME"
  take_pid "$P"
  STRANGER_START=$(start_time_of "$STRANGER")
  hz=$(getconf CLK_TCK)
  # The offset that makes the stranger's start read as the box's: whole ticks, in nanoseconds.
  off_ns=$(( (START - STRANGER_START) * (1000000000 / hz) ))
  cat > timens.py <<'EOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x00000080) != 0:  # CLONE_NEWTIME: children of this process get the new clocks
    sys.exit("unshare(CLONE_NEWTIME): " + os.strerror(ctypes.get_errno()))
ns = int(sys.argv[1])
with open("/proc/self/timens_offsets", "w") as f:
    f.write("boottime %d %d\n" % (ns // 1000000000, ns % 1000000000))
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
EOF
  bk_run 0 python3 timens.py "$off_ns" awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$STRANGER/stat"
  assert_output "$START"    # the stranger now reads as started when the box did
  bk_run 0 python3 timens.py "$off_ns" nsjail-lite ps --all --json
  assert_equal "$(echo "$output" | jq -r --arg n "$NAME" '.[] | select(.name == $n) | .running')" "false"
  bk_run 125 python3 timens.py "$off_ns" nsjail-lite kill -s KILL "$NAME"
  stranger_lives
}

@test "reuse: a running box's name is not taken from another pid namespace that shares the records" {
  require_cmd unshare
  nsjail-lite --name "$NAME" --pid -- /bin/sleep 987615 3>&- &
  PIDS+=("$!")
  P=$(box_pid "$NAME")
  bk_run 125 unshare --pid --fork --mount-proc nsjail-lite --name "$NAME" -- /bin/true
  assert_regex "$stderr" "cannot name the box $NAME"
  bk_run 0 nsjail-lite ps --json
  assert_equal "$(echo "$output" | jq -r --arg n "$NAME" '.[] | select(.name == $n) | "\(.running) \(.pid)"')" "true $P"
}
