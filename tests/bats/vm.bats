#!/usr/bin/env bats
# tests/vm/run-in-vm: a tiny Linux VM that runs a script on a real cgroup v2
# kernel and hands back its output and exit status. Each test boots a VM
# (about 2.5 s under software emulation), so there are few of them.

load helpers

RUN_IN_VM=$BATS_TEST_DIRNAME/../vm/run-in-vm

setup_file() {
  # Download and unpack the kernel once (cached in /var/cache/boxkit/vm).
  local why
  if ! why=$("$RUN_IN_VM" --prepare 2>&1); then
    echo "$why" > "$BATS_FILE_TMPDIR/skip"
  fi
}

setup() {
  [ ! -e "$BATS_FILE_TMPDIR/skip" ] || skip "the VM cannot run here: $(tail -n 2 "$BATS_FILE_TMPDIR/skip" | tr '\n' ' ')"
  cd "$BATS_TEST_TMPDIR"
}

@test "the VM boots a pure cgroup v2 kernel with the memory controller" {
  BK_TIMEOUT=150 bk_run 0 "$RUN_IN_VM" -c 'cat /sys/fs/cgroup/cgroup.controllers; grep -o "^cgroup2 /sys/fs/cgroup cgroup2" /proc/mounts'
  assert_line --index 0 --regexp '(^| )memory( |$)'
  assert_line --index 0 --regexp '(^| )pids( |$)'
  assert_line --index 1 'cgroup2 /sys/fs/cgroup cgroup2'
  assert_equal "$stderr" ""
}

@test "the script's exit status, its output and the FILEs it was given come back" {
  printf 'only in the file\n' > data.txt
  cat > script.sh <<'SH'
echo "pid of init: $(cat /proc/1/comm)"
cat /bin/data.txt /etc/placed
echo "to stderr" >&2
printf 'no newline at the end'
exit 7
SH
  BK_TIMEOUT=150 bk_run 7 "$RUN_IN_VM" --mem 128 script.sh data.txt "data.txt:/etc/placed"
  assert_output $'pid of init: init\nonly in the file\nonly in the file\nto stderr\nno newline at the end'
}

@test "a memory limit is enforced inside the VM: the child is OOM-killed, the script lives" {
  BK_TIMEOUT=150 bk_run 0 "$RUN_IN_VM" -c '
    echo +memory > /sys/fs/cgroup/cgroup.subtree_control
    mkdir /sys/fs/cgroup/hog && echo 16M > /sys/fs/cgroup/hog/memory.max
    sh -c "echo \$\$ > /sys/fs/cgroup/hog/cgroup.procs; x=\$(head -c 64000000 /dev/zero | tr \"\\0\" a)" 2>/dev/null
    echo "hog exit $?"
    grep oom_kill /sys/fs/cgroup/hog/memory.events'
  assert_line 'hog exit 137'
  assert_line --regexp '^oom_kill [1-9]'
}

@test "usage errors exit 125, a hung guest is killed at --timeout with 124" {
  bk_run 125 "$RUN_IN_VM" --mem lots -c true
  assert_regex "$stderr" "^run-in-vm: cannot use 'lots' as a number"
  bk_run 125 "$RUN_IN_VM" no-such-script.sh
  assert_regex "$stderr" "cannot read the script no-such-script.sh"
  # (Whether the guest got as far as "started" depends on how busy this
  # machine is; the status and the cleanup do not.)
  TMPDIR=$BATS_TEST_TMPDIR BK_TIMEOUT=60 bk_run 124 "$RUN_IN_VM" --timeout 10 -c 'echo started; sleep 600'
  [ -z "$output" ] || assert_output "started"
  assert_regex "$stderr" "cannot finish within 10s"
  # timeout(1) took qemu with it (other tests may run VMs of their own: look
  # only for this one's, by its work directory), and the work directory went.
  run pgrep -f "$BATS_TEST_TMPDIR/boxkit-vm"
  assert_failure
  run compgen -G "$BATS_TEST_TMPDIR/boxkit-vm.*"
  assert_failure
}

@test "a machine that cannot run the VM gets 77 and the reason, for a skip" {
  BOXKIT_VM_CACHE=/proc/no-such-place bk_run 77 "$RUN_IN_VM" --prepare
  assert_regex "$stderr" "^run-in-vm: cannot create the cache /proc/no-such-place"
  assert_regex "$stderr" "hint: set BOXKIT_VM_CACHE"
}

@test "boot-time measures the VM and a box running the same command" {
  require_root
  command -v chrootify >/dev/null || skip "chrootify is not built"
  make_busybox_root "$BATS_TEST_TMPDIR/root"
  BK_TIMEOUT=200 bk_run 0 "$BATS_TEST_DIRNAME/../vm/boot-time" --json --runs 1 --box "$BATS_TEST_TMPDIR/root" echo from both
  local json=$output
  run jq -r '[.vm.output, .box.output, .vm.runs, .box.runs] | @tsv' <<<"$json"
  assert_output $'from both\tfrom both\t1\t10'
  # Every figure is there and positive (how big they are is the lesson's business, not a test's).
  run jq -e '[.vm, .box][] | .first_output_ms > 0 and .finished_ms >= .first_output_ms and .peak_memory_mb > 0' <<<"$json"
  assert_success
}
