#!/usr/bin/env bats
# cgctl: control groups. Runs as root on this machine's real cgroups (the
# hybrid layout: v1 controllers, an empty v2 tree), and on a real cgroup v2
# kernel inside a small VM (tests/vm/run-in-vm). Every limit is proven by its
# effect. Group names are unique per run and test; teardown removes them.

load helpers

setup_file() {
  VM=$BATS_TEST_DIRNAME/../vm/run-in-vm
  export VM
  if [ ! -x "$VM" ]; then
    echo "tests/vm/run-in-vm not available yet" > "$BATS_FILE_TMPDIR/novm"
  elif ! why=$("$VM" --prepare 2>&1); then
    echo "${why:-run-in-vm --prepare failed}" > "$BATS_FILE_TMPDIR/novm"
  fi
}

setup() {
  require_root
  [ -d /sys/fs/cgroup ] || skip "no /sys/fs/cgroup here"
  cd "$BATS_TEST_TMPDIR"
  G=bkt-$$-$BATS_TEST_NUMBER    # unique: other engineers run tests at once
}

teardown() {
  local g
  for g in "$G" "$G-2"; do
    cgctl rm --force "$g" >/dev/null 2>&1 || true
  done
  [ -z "${BG_PID:-}" ] || { kill "$BG_PID" 2>/dev/null; wait "$BG_PID" 2>/dev/null; } || true
}

# v2 names the files differently; everything else is the same command line.
on_v2() { [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; }
group_dir() { # NAME [CONTROLLER]: the group's directory
  if on_v2; then echo "/sys/fs/cgroup/boxkit/$1"; else echo "/sys/fs/cgroup/${2:-memory}/boxkit/$1"; fi
}
# Run inside a group: prints the memory limit the group has, as the command sees it.
SHOW_LIMIT='if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  cat "/sys/fs/cgroup$(sed -n "s/^0:://p" /proc/self/cgroup)/memory.max"
else
  cat "/sys/fs/cgroup/memory$(awk -F: "\$2==\"memory\" {print \$3}" /proc/self/cgroup)/memory.limit_in_bytes"
fi'
# A memory hog: the shell keeps 200 MB of x's in a variable.
HOG='x=$(head -c 200000000 /dev/zero | tr "\0" x); echo survived ${#x}'
# A bounded fork bomb: 50 tries to leave a sleeping child behind; prints how many made it.
FORKS='n=0; for i in $(seq 50); do (sleep 5 >/dev/null &) 2>/dev/null && n=$((n+1)); done; echo started $n'

# ---- exit codes ---------------------------------------------------------

@test "exit codes: true 0, false 1, missing 127, not executable 126, bad flag 125, bad input 125" {
  printf '#!/bin/sh\necho hi\n' > noexec; chmod 0644 noexec
  while read -r want args; do
    # shellcheck disable=SC2086
    bk_run "$want" cgctl $args
  done <<EOT
0   run -- /bin/true
1   run -- /bin/false
127 run -- /no/such/command
126 run -- ./noexec
125 run --no-such-flag -- /bin/true
125 --no-such-flag
125
125 run --memory lots -- /bin/true
125 run --cpus 0 -- /bin/true
125 run --pids 0 -- /bin/true
125 run --cpuset 1-0 -- /bin/true
125 run --io-max 8:0 -- /bin/true
125 run --name ../x -- /bin/true
125 run
125 exec $G
125 rm no-such-group-$G
125 stats no-such-group-$G
125 freeze no-such-group-$G
125 set no-such-group-$G --memory 1Mi
125 ls -- /bin/true
EOT
}

@test "the command's own exit code and signal pass through" {
  bk_run 42 cgctl run -- /bin/sh -c 'exit 42'
  bk_run 137 cgctl run -- /bin/sh -c 'kill -KILL $$'
  bk_run 143 cgctl run -- /bin/sh -c 'kill -TERM $$'
}

@test "signals sent to cgctl run reach the command" {
  cgctl run --name "$G" -- /bin/sh -c 'trap "echo got TERM; exit 7" TERM; touch trapped; while :; do sleep 0.1; done' > out 2>err &
  local pid=$!
  for _ in $(seq 100); do [ -e trapped ] && break; sleep 0.1; done
  kill -TERM "$pid"
  local rc=0; wait "$pid" || rc=$?
  assert_equal "$rc" 7
  assert_equal "$(cat out)" "got TERM"
  assert_dir_not_exists "$(group_dir "$G")"
}

@test "errors have the one shape, with a hint naming the accepted forms" {
  bk_run 125 cgctl run --memory lots -- /bin/true
  assert_equal "$output" ""
  assert_regex "$stderr" '^cgctl: cannot understand --memory lots'
  assert_regex "$stderr" 'cgctl: hint: .*Ki, Mi, Gi'
  bk_run 125 cgctl create '../../escape'
  assert_regex "$stderr" "^cgctl: cannot use '../../escape' as a group name"
  bk_run 125 cgctl --bogus
  assert_regex "$stderr" "^cgctl: cannot understand the command line: .*"$'\n'"cgctl: hint: see 'cgctl --help'"
}

@test "--help and --version exit 0 on stdout" {
  bk_run 0 cgctl --help
  assert_output --partial "Usage: cgctl"
  assert_output --partial "Lesson: lessons/04-cgroups"
  bk_run 0 cgctl run --help
  assert_output --partial "--memory"
  bk_run 0 cgctl --version
  assert_output --regexp '^cgctl [0-9]+\.[0-9]+\.[0-9]+$'
}

# ---- narration ------------------------------------------------------------

@test "--explain narrates on stderr, shows which file each limit became, leaves stdout to the command" {
  bk_run 0 cgctl --explain run --memory 64Mi --pids 64 --cpus 0.5 -- /bin/echo out
  assert_output "out"
  if on_v2; then
    assert_regex "$stderr" 'cgctl: explain: limit memory to 64Mi \[memory.max\]: write\("/sys/fs/cgroup/boxkit/run-[0-9]+/memory.max", "67108864"\)'
    assert_regex "$stderr" 'cpu.max", "50000 100000"'
  else
    assert_regex "$stderr" 'cgctl: explain: limit memory to 64Mi \[memory.limit_in_bytes\]: write\("/sys/fs/cgroup/memory/boxkit/run-[0-9]+/memory.limit_in_bytes", "67108864"\)'
    assert_regex "$stderr" 'cpu.cfs_quota_us", "50000"'
  fi
  assert_regex "$stderr" 'pids.max", "64"'
  assert_regex "$stderr" 'cgctl: explain: [^:]+: prctl\(PR_SET_PDEATHSIG, SIGKILL\)'
  assert_regex "$stderr" 'cgctl: explain: [^:]+: rmdir\('
}

@test "run and exec join on v1 by moving their one thread (tasks, \"0\"), never through cgroup.procs" {
  on_v2 && skip "this machine has cgroup v2 (there the VM test covers clone3 CLONE_INTO_CGROUP)"
  # cgroup.procs would take the kernel's cgroup-wide lock and wait out an
  # RCU grace period; the command still ends up in every tree of its group.
  # (one line of /proc/self/cgroup per tree the group is in, one write each)
  bk_run 0 cgctl --explain run --name "bk-$BATS_TEST_NUMBER-$$" --memory 64Mi -- /bin/sh -c 'grep -c "/boxkit/bk-" /proc/self/cgroup'
  assert_regex "$stderr" 'move this process \(its only thread\) into the group in the memory tree: write\("[^"]*/memory/boxkit/bk-[^"]*/tasks", "0"\)'
  refute_regex "$stderr" 'cgroup.procs", "[0-9]'
  assert_equal "$output" "$(grep -c 'tasks", "0")' <<<"$stderr")"
  # exec, the chain-loader, the same
  bk_run 0 cgctl --explain exec "bk-$BATS_TEST_NUMBER-$$" -- /bin/sh -c 'grep -c "/boxkit/bk-" /proc/self/cgroup'
  assert_equal "$output" "$(grep -c 'tasks", "0")' <<<"$stderr")"
  assert [ "$output" -ge 2 ]
  bk_run 0 cgctl rm "bk-$BATS_TEST_NUMBER-$$"
}

@test "BOXKIT_EXPLAIN=1 narrates too, and the command inherits it" {
  bk_run 0 env BOXKIT_EXPLAIN=1 cgctl run -- /bin/sh -c 'echo $BOXKIT_EXPLAIN'
  assert_output "1"
  assert_regex "$stderr" 'cgctl: explain: .*mkdir\('
}

# ---- limits, proven by their effect ----------------------------------------

@test "the command runs inside its group and sees its limit" {
  bk_run 0 cgctl run --name "$G" --memory 64Mi -- /bin/sh -c "$SHOW_LIMIT"
  assert_output "67108864"
  bk_run 0 cgctl run --name "$G" -- /bin/cat /proc/self/cgroup
  assert_output --regexp "/boxkit/$G"
}

@test "--memory: a hog is OOM-killed inside the group, the event is reported, the host lives" {
  sleep 30 & local host=$!
  bk_run 137 cgctl run --memory 32Mi --report report.json -- /bin/sh -c "$HOG"
  refute_output --partial survived
  assert_regex "$stderr" 'oom kills [1-9]'
  assert_equal "$(jq -r '.oom_kills >= 1' report.json)" true
  assert_equal "$(jq -r '.memory_limit' report.json)" 32000000 || assert_equal "$(jq -r '.memory_limit' report.json)" 33554432
  assert_equal "$(jq -r '.memory_peak <= .memory_limit' report.json)" true
  kill -0 "$host"          # the process outside the group is untouched
  kill "$host"
  # Without the limit the same hog lives.
  bk_run 0 cgctl run -- /bin/sh -c "$HOG"
  assert_output "survived 200000000"
}

@test "--pids: a fork bomb stops at the limit" {
  bk_run 0 cgctl run --pids 10 --report report.json -- /bin/sh -c "$FORKS"
  local started=${output#started }
  [ "$started" -lt 10 ] || { echo "started $started children under --pids 10"; false; }
  assert_equal "$(jq -r '.pids_peak' report.json)" 10
  assert_equal "$(jq -r '.pids_limit' report.json)" 10
  assert_equal "$(jq -r '.pids_limit_hits > 0' report.json)" true
  assert_regex "$stderr" 'pids peak 10 of 10'
  # Its sleeping children went with the group: nothing is left.
  assert_equal "$(jq -r '.members' report.json)" 0
}

@test "--cpus 0.2: a CPU hog gets about a fifth of a CPU, by the group's own counters" {
  bk_run 124 cgctl run --cpus 0.2 --report report.json -- timeout 2 /bin/sh -c 'while :; do :; done'
  # CPU time used per scheduler period (100 ms each) that the group was runnable in.
  local share
  share=$(jq -r '.cpu_usec / (.nr_periods * .cpu_period_usec)' report.json)
  echo "share of one CPU: $share" >&2
  assert_equal "$(echo "$share > 0.1 && $share < 0.3" | bc -l)" 1
  assert_equal "$(jq -r '.nr_throttled > 0 and .throttled_usec > 0' report.json)" true
}

@test "--cpuset: the command may run only on the CPUs given" {
  bk_run 0 cgctl run --cpuset 0 -- /bin/grep Cpus_allowed_list /proc/self/status
  assert_output --regexp $'Cpus_allowed_list:\t0$'
}

@test "--cpu-weight and --memory-swap land in their files" {
  bk_run 0 cgctl --explain create "$G" --cpu-weight 200 --memory 32Mi --memory-swap 64Mi
  if on_v2; then
    assert_regex "$stderr" 'cpu.weight", "200"'
    assert_regex "$stderr" 'memory.swap.max", "33554432"'
  else
    assert_equal "$(cat "$(group_dir "$G" cpu)/cpu.shares")" 2048
    assert_equal "$(cat "$(group_dir "$G")/memory.memsw.limit_in_bytes")" 67108864
  fi
}

@test "--io-max caps a real disk; --io-weight is refused clearly where the kernel lacks it" {
  local dev
  dev=$(awk '$5 == "/" {print $3; exit}' /proc/self/mountinfo)
  [ -e "/sys/dev/block/$dev" ] || skip "the root filesystem is not on a block device"
  bk_run 0 cgctl run --io-max "$dev:wbps=1Mi" -- /bin/sh -c \
    'cat /sys/fs/cgroup/blkio$(awk -F: "\$2==\"blkio\" {print \$3}" /proc/self/cgroup)/blkio.throttle.write_bps_device 2>/dev/null ||
     cat /sys/fs/cgroup$(sed -n "s/^0:://p" /proc/self/cgroup)/io.max'
  assert_output --regexp "^$dev (1048576|.*wbps=1048576)"
  if [ ! -e /sys/fs/cgroup/blkio/blkio.weight ] && ! on_v2; then
    bk_run 125 cgctl run --name "$G" --io-weight 200 -- /bin/true
    assert_regex "$stderr" 'offers no blkio.weight'
    assert_dir_not_exists "$(group_dir "$G")"   # all or nothing
    bk_run 125 cgctl create "$G" --memory 64Mi --io-weight 200
    assert_dir_not_exists "$(group_dir "$G")"
  fi
}

# ---- named groups -----------------------------------------------------------

@test "create, set, exec, ls, stats and rm a named group" {
  bk_run 0 cgctl create "$G" --memory 64Mi --pids 20
  bk_run 0 cgctl exec "$G" -- /bin/sh -c "$SHOW_LIMIT"
  assert_output "67108864"
  bk_run 0 cgctl set "$G" --memory 128Mi
  bk_run 0 cgctl exec "$G" -- /bin/sh -c "$SHOW_LIMIT"
  assert_output "134217728"
  bk_run 125 cgctl create "$G"
  assert_regex "$stderr" 'File exists \(EEXIST\)'
  cgctl exec "$G" -- sleep 30 & BG_PID=$!
  for _ in $(seq 50); do [ -n "$(cat "$(group_dir "$G")/cgroup.procs")" ] && break; sleep 0.1; done
  bk_run 0 cgctl ls
  assert_line --regexp "^$G +1 .* 128Mi +[0-9]+ +20 "
  bk_run 0 cgctl ls --json
  assert_equal "$(jq -r --arg g "$G" '.[] | select(.name == $g) | "\(.members) \(.pids_limit) \(.transient)"' <<<"$output")" "1 20 false"
  bk_run 0 cgctl stats "$G" --json
  assert_equal "$(jq -r '.members' <<<"$output")" 1
  assert_equal "$(jq -r '.memory_current > 0' <<<"$output")" true
  bk_run 0 cgctl stats "$G"
  assert_line --index 1 --regexp "^$G .* / 128Mi +1 / 20 "
  bk_run 0 cgctl stats "$G" --watch --interval 0.2 --count 2
  assert_output --regexp 'memory  \[#*\.*\]'
  assert_output --partial 'of 20'
}

@test "rm of a busy group is an error that says so; --force kills the members first" {
  bk_run 0 cgctl create "$G"
  cgctl exec "$G" -- sleep 30 & BG_PID=$!
  for _ in $(seq 50); do [ -n "$(cat "$(group_dir "$G")/cgroup.procs")" ] && break; sleep 0.1; done
  bk_run 125 cgctl rm "$G"
  assert_regex "$stderr" 'cannot remove the group .*Device or resource busy \(EBUSY\)'
  assert_regex "$stderr" "hint: it still holds 1 process .*cgctl rm --force $G"
  kill -0 "$BG_PID"
  bk_run 0 cgctl rm --force "$G"
  local rc=0; wait "$BG_PID" || rc=$?
  assert_equal "$rc" 137
  BG_PID=
  assert_dir_not_exists "$(group_dir "$G")"
}

@test "freeze stops every process where it stands; thaw lets it go on" {
  bk_run 0 cgctl create "$G"
  cgctl exec "$G" -- /bin/sh -c 'while :; do echo x >> ticks; sleep 0.05; done' & BG_PID=$!
  for _ in $(seq 50); do [ -s ticks ] && break; sleep 0.1; done
  bk_run 0 cgctl freeze "$G"
  local a b c
  a=$(stat -c %s ticks); sleep 0.5; b=$(stat -c %s ticks)
  assert_equal "$a" "$b"
  bk_run 0 cgctl stats "$G" --json
  assert_equal "$(jq -r .frozen <<<"$output")" true
  bk_run 0 cgctl thaw "$G"
  sleep 0.5; c=$(stat -c %s ticks)
  [ "$c" -gt "$b" ] || { echo "no ticks after thaw: $b -> $c"; false; }
  bk_run 0 cgctl rm --force "$G"
}

@test "events: OOM kills and pids hits are reported as they happen" {
  bk_run 0 cgctl create "$G" --memory 32Mi --pids 10
  cgctl events "$G" > events.out 2> events.err & BG_PID=$!
  sleep 0.5
  bk_run 137 cgctl exec "$G" -- /bin/sh -c "$HOG"
  bk_run 0 cgctl exec "$G" -- /bin/sh -c "$FORKS"
  for _ in $(seq 30); do grep -q pids_max events.out && grep -q oom_kill events.out && break; sleep 0.1; done
  bk_run 0 cgctl rm --force "$G"
  wait "$BG_PID"; BG_PID=
  cat events.out >&2
  grep -E "^[0-9:]+ $G oom_kill \+1 \(total 1\): the OOM killer killed a process" events.out
  grep -E "^[0-9:]+ $G pids_max \+[0-9]+" events.out
  grep -q "the group $G is gone" events.err
}

# ---- nothing left behind ----------------------------------------------------

@test "run removes its group, also when the command fails to start" {
  bk_run 0 cgctl run --name "$G" -- /bin/true
  assert_dir_not_exists "$(group_dir "$G")"
  bk_run 127 cgctl run --name "$G" -- /no/such/command
  assert_dir_not_exists "$(group_dir "$G")"
  # Background children of the command go with the group.
  local t=59.$$$BATS_TEST_NUMBER   # a sleep nobody else runs
  bk_run 0 cgctl run --name "$G" -- /bin/sh -c "(sleep $t &); echo started"
  assert_dir_not_exists "$(group_dir "$G")"
  run pgrep -fx "sleep $t"
  assert_failure
}

@test "cgctl SIGKILLed: the command dies with it, gc removes the leftovers" {
  local t1=61.$$$BATS_TEST_NUMBER t2=62.$$$BATS_TEST_NUMBER   # sleeps nobody else runs
  cgctl run --name "$G" -- /bin/sh -c "(exec sleep $t1 &); exec sleep $t2" & local pid=$!
  for _ in $(seq 50); do [ "$(wc -l < "$(group_dir "$G")/cgroup.procs" 2>/dev/null)" = 2 ] && break; sleep 0.1; done
  kill -KILL "$pid"
  wait "$pid" || true
  # The command itself (sleep $t2) died with cgctl (PR_SET_PDEATHSIG); what
  # it had started (sleep $t1) is still in the group.
  for _ in $(seq 20); do pgrep -fx "sleep $t2" >/dev/null || break; sleep 0.1; done
  run pgrep -fx "sleep $t2"
  assert_failure
  bk_run 0 cgctl ls --json
  assert_equal "$(jq -r --arg g "$G" '.[] | select(.name == $g) | "\(.transient) \(.abandoned) \(.members)"' <<<"$output")" "true true 1"
  bk_run 0 cgctl gc
  assert_regex "$stderr" "removed the leftover group $G"
  assert_dir_not_exists "$(group_dir "$G")"
  run pgrep -fx "sleep $t1"
  assert_failure
}

@test "gc leaves named groups and live runs alone" {
  bk_run 0 cgctl create "$G"
  cgctl run --name "$G-2" -- sleep 5 & BG_PID=$!
  for _ in $(seq 50); do [ -d "$(group_dir "$G-2")" ] && break; sleep 0.1; done
  bk_run 0 cgctl gc
  assert_dir_exists "$(group_dir "$G")"
  assert_dir_exists "$(group_dir "$G-2")"
}

@test "a user other than root is told why not, on v1" {
  on_v2 && skip "this host runs cgroup v2 (the VM test covers rootless there)"
  bk_run 125 setpriv --reuid=65534 --regid=65534 --clear-groups cgctl run -- /bin/true
  assert_regex "$stderr" 'cannot make cgroups as uid 65534 on .*Operation not permitted \(EPERM\)'
  assert_regex "$stderr" 'hint: cgroup v1 has no safe delegation to users'
}

# ---- hostile input ------------------------------------------------------------

@test "hostile names never reach outside the boxkit parent group" {
  mkdir -p sentinel; echo keep > sentinel/f
  local before; before=$(tree_digest sentinel)
  local top; top=$(dirname "$(dirname "$(group_dir x)")")   # the controller's tree
  local listing; listing=$(ls "$top")
  for name in .. ../.. "../$G" "a/b" "." "-rf" "x y" "$(printf 'a\nb')" "cgroup.procs" "$BATS_TEST_TMPDIR/sentinel"; do
    bk_run 125 cgctl create "$name"
    bk_run 125 cgctl rm --force "$name"
    bk_run 125 cgctl run --name "$name" -- /bin/true
  done
  assert_equal "$(ls "$top")" "$listing"
  assert_equal "$(tree_digest sentinel)" "$before"
}

# ---- real cgroup v2, in a VM ----------------------------------------------------

@test "cgroup v2 (in a VM): layout, subtree_control, limits by effect, freeze, rm, run report" {
  [ ! -e "$BATS_FILE_TMPDIR/novm" ] || skip "no VM here: $(cat "$BATS_FILE_TMPDIR/novm")"
  [ -z "${BOXKIT_SANITIZED:-}" ] || skip "the VM's busybox initramfs has no sanitizer runtime; the static cgctl runs there in the plain pass"
  BK_TIMEOUT=240 bk_run 0 "$VM" --mem 256 --timeout 200 "$BATS_TEST_DIRNAME/../vm/cgctl-v2.sh" "$BOXKIT_BIN/cgctl"
  echo "$output" >&2
  assert_line "layout: cgroup v2"
  assert_line "subtree_control root: cpu memory pids"
  assert_line "subtree_control boxkit: cpu memory pids"
  assert_line "memory.max 16777216"
  assert_line "cpu.max 20000 100000"
  assert_line --regexp '^oom: exit 137, oom_kill [1-9]$'   # (as below: two when the first victim is slow to let go)
  assert_line --regexp '^pids: started [0-9]$'
  assert_line "pids peak 10"
  assert_line "freeze: frozen 1"
  assert_line "thaw: frozen 0"
  assert_line "rm busy: 125"
  assert_line "internal process: refused"
  assert_line --regexp '^"oom_kills":[1-9]$'   # (one, or two when the first victim is slow to let go)
  assert_line '"cgroup_version":2'
  assert_line "spin: exit 143"
  assert_line '"nr_throttled":some'
  assert_line "events: oom_kill"
  assert_line "events: pids_max"
  assert_line "rootless without delegation: 125"
  assert_line "rootless: told how to get a delegated subtree"
  assert_line "rootless: /deleg/boxkit/run-N"
  assert_line "run: born in the group"
  assert_line "run: not moved"
  assert_line "run: in /boxkit/born"
  assert_line "16777216"
  assert_line "left behind: none"
  assert_line "ALL OK"
}
