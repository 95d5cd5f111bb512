#!/usr/bin/env bats
# The test harness itself: the lesson checker must fail a lesson that drifts,
# and tests/run must count what it runs.

load helpers

lesson() { # NAME, then the README on stdin
  mkdir -p "$BATS_TEST_TMPDIR/$1"
  cat > "$BATS_TEST_TMPDIR/$1/README.md"
}

@test "lessons/check passes a lesson whose output matches, with ... and {{n}}" {
  lesson 90-good <<'EOF2'
# good
```console
$ printf 'a\nb\nc\n'
a
...
c
$ echo "pid $$"
pid {{n}}
$ false
[exit 1]
$ X=5
$ echo "$X carried"
5 carried
```
EOF2
  bk_run 0 "$BATS_TEST_DIRNAME/../../lessons/check" "$BATS_TEST_TMPDIR/90-good"
  assert_output --partial "ok 1"
  assert_output --partial "(5 steps)"
}

@test "lessons/check fails a lesson whose output drifted, and shows the difference" {
  lesson 91-bad <<'EOF2'
# bad
```console
$ echo actual
expected
```
EOF2
  bk_run 1 "$BATS_TEST_DIRNAME/../../lessons/check" "$BATS_TEST_TMPDIR/91-bad"
  assert_output --partial "not ok 1"
  assert_output --partial "output differs"
  assert_output --partial "#   actual"
}

@test "lessons/check fails on a wrong exit status and on a timeout" {
  lesson 92-status <<'EOF2'
<!-- lesson: timeout=2 -->
# status
```console
$ exit_with() { return "$1"; }; exit_with 3
```
EOF2
  bk_run 1 "$BATS_TEST_DIRNAME/../../lessons/check" "$BATS_TEST_TMPDIR/92-status"
  assert_output --partial "exit status 3, the lesson says 0"
  lesson 93-slow <<'EOF2'
<!-- lesson: timeout=1 -->
# slow
```console
$ sleep 5
```
EOF2
  bk_run 1 "$BATS_TEST_DIRNAME/../../lessons/check" "$BATS_TEST_TMPDIR/93-slow"
  assert_output --partial "timed out"
}

@test "lessons/check skips a lesson whose needs are missing, with the reason" {
  lesson 94-needs <<'EOF2'
<!-- lesson: needs=cmd:no-such-command-boxkit -->
# needs
```console
$ true
```
EOF2
  bk_run 0 "$BATS_TEST_DIRNAME/../../lessons/check" "$BATS_TEST_TMPDIR/94-needs"
  assert_output --partial "# skip needs the command no-such-command-boxkit"
}
