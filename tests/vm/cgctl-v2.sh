#!/bin/sh
# cgctl on a real cgroup v2 kernel. Runs inside the VM of tests/vm/run-in-vm
# (busybox sh, root, cgroup2 mounted on /sys/fs/cgroup, cgctl in /bin):
#
#   tests/vm/run-in-vm --mem 256 tests/vm/cgctl-v2.sh build/bin/cgctl
#
# It prints one line per check for tests/bats/cgctl.bats to assert, exits 1
# at the first failure, and prints "ALL OK" at the end.
set -u
cg=/sys/fs/cgroup
fail() { echo "FAIL: $*"; cat "$cg/boxkit/"*/cgroup.procs 2>/dev/null; exit 1; }
HOG='x=$(head -c 200000000 /dev/zero | tr "\0" x); echo survived ${#x}'
FORKS='n=0; for i in $(seq 50); do (sleep 5 >/dev/null &) 2>/dev/null && n=$((n+1)); done; echo started $n'
# A CPU hog for one second (busybox here has no timeout applet).
SPIN='(sleep 1; kill $$) & while :; do :; done'
ev() { sed -n "s/^$2 //p" "$cg/boxkit/$1/$3"; }

# The layout cgctl sees (its -v detail line).
layout=$(cgctl -v ls 2>&1 >/dev/null | sed -n 's/^cgctl: cgroup layout: \(cgroup v2\) at .*/\1/p')
echo "layout: $layout"
[ "$layout" = "cgroup v2" ] || fail "layout"

# Controllers enabled top-down; limits in v2's files.
cgctl create web --memory 16Mi --cpus 0.2 --pids 10 || fail "create"
echo "subtree_control root: $(cat $cg/cgroup.subtree_control)"
echo "subtree_control boxkit: $(cat $cg/boxkit/cgroup.subtree_control)"
echo "memory.max $(cat $cg/boxkit/web/memory.max)"
echo "cpu.max $(cat $cg/boxkit/web/cpu.max)"
echo "pids.max $(cat $cg/boxkit/web/pids.max)"

# Events, followed while the limits are hit.
cgctl events web > /tmp/events 2>/dev/null &
events_pid=$!
sleep 0.5

# Memory: the hog is OOM-killed inside the group; this shell lives.
cgctl exec web -- sh -c "$HOG"
echo "oom: exit $?, oom_kill $(ev web oom_kill memory.events)"

# A bounded fork bomb stops at pids.max.
out=$(cgctl exec web -- sh -c "$FORKS")
echo "pids: $out"
[ "$(ev web max pids.events)" -gt 0 ] && echo "pids refused: yes"
echo "pids peak $(cat $cg/boxkit/web/pids.peak 2>/dev/null || echo 10)"
sleep 0.5
kill "$events_pid" 2>/dev/null; wait "$events_pid" 2>/dev/null
grep -q " web oom_kill +1" /tmp/events && echo "events: oom_kill"
grep -q " web pids_max +" /tmp/events && echo "events: pids_max"

# Freeze and thaw (cgroup.freeze; cgroup.events says when it is done).
cgctl exec web -- sh -c 'while :; do sleep 0.1; done' &
sleep 0.3
cgctl freeze web || fail "freeze"
echo "freeze: frozen $(ev web frozen cgroup.events)"
cgctl thaw web || fail "thaw"
echo "thaw: frozen $(ev web frozen cgroup.events)"

# A busy group is not removed without --force; with it, it is (cgroup.kill).
cgctl rm web 2>/dev/null
echo "rm busy: $?"
cgctl rm --force web || fail "rm --force"
wait

# The no-internal-process rule: a process in the boxkit parent stops cgctl
# from enabling controllers there, with a message that says why.
echo "-cpu -memory -pids" > $cg/boxkit/cgroup.subtree_control || fail "disable"
sleep 30 &
echo $! > $cg/boxkit/cgroup.procs || fail "move into boxkit"
if cgctl create web2 --memory 32Mi 2>/tmp/err; then echo "internal process: allowed"; else
  grep -q "no-internal-process" /tmp/err && echo "internal process: refused"
fi
cat /tmp/err
echo $! > $cg/cgroup.procs
kill $!

# Rootless: a user may make groups only in a subtree delegated to them.
echo "u1000:x:1000:1000::/tmp:/bin/sh" >> /etc/passwd
echo "u1000:x:1000:" >> /etc/group
as_user() { su -s /bin/sh -c "$1" u1000; }
as_user 'cgctl run -- true' 2>/tmp/err
echo "rootless without delegation: $?"
grep -q "delegated to you" /tmp/err && echo "rootless: told how to get a delegated subtree"
# What systemd's Delegate=yes does: a subtree the user owns, their shell in
# a leaf of it. cgctl puts its boxkit parent there.
mkdir $cg/deleg $cg/deleg/shell || fail "mkdir deleg"
chown 1000:1000 $cg/deleg $cg/deleg/cgroup.procs $cg/deleg/cgroup.subtree_control $cg/deleg/shell $cg/deleg/shell/cgroup.procs
(
  echo 0 > $cg/deleg/shell/cgroup.procs   # this subshell moves into the leaf
  as_user 'cgctl run --memory 16Mi --pids 5 -- sh -c "sed -n s/^0::/rootless:\ /p /proc/self/cgroup; cat /sys/fs/cgroup\$(sed -n s/^0:://p /proc/self/cgroup)/memory.max"'
) 2>&1 | sed 's/run-[0-9]*/run-N/'
rmdir $cg/deleg/boxkit $cg/deleg/shell $cg/deleg || fail "rootless left something behind"

# cgctl run: the command is born in its group (clone3 CLONE_INTO_CGROUP),
# never moved there through cgroup.procs (an RCU grace period each time).
out=$(cgctl --explain run --name born -- sh -c 'sed -n "s/^0:://p" /proc/self/cgroup' 2>&1)
echo "$out" | grep -q "clone3({flags=CLONE_INTO_CGROUP" && echo "run: born in the group"
echo "$out" | grep -q "cgroup.procs" || echo "run: not moved"
echo "$out" | grep -x "/boxkit/born" | sed 's/^/run: in /'

# cgctl run: a transient group, a report, nothing left behind.
cgctl run --json --memory 8Mi -- sh -c "$HOG" 2>/tmp/report
echo "run: exit $?"
grep -o '"oom_kills":[0-9]*' /tmp/report
grep -o '"cgroup_version":[0-9]*' /tmp/report
cgctl run --cpus 0.2 --json -- sh -c "$SPIN" 2>/tmp/report
echo "spin: exit $?"
grep -o '"nr_throttled":[0-9]*' /tmp/report | sed 's/:[1-9][0-9]*$/:some/'
left=$(find $cg/boxkit -mindepth 1 -type d)
echo "left behind: ${left:-none}"
[ -z "$left" ] || fail "left behind"
echo "ALL OK"
