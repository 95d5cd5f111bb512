#!/usr/bin/env bats
# lessons/present: the instructor's presenter. Driven for real in a terminal
# (tmux), with keys, and straight through with --auto as CI does.

load helpers

PRESENT=$BATS_TEST_DIRNAME/../../lessons/present

setup() {
  cd "$BATS_TEST_TMPDIR"
  mkdir -p lesson
  cat > lesson/README.md <<'MD'
<!-- lesson: timeout=20 -->
# A lesson to test the presenter

The first step sets a variable.

```console
$ X=one; echo "step one $X"
step one one
```

The second step counts how often it ran.

```console
$ N=$((N + 1)); echo "count $N, X still $X"
count {{n}}, X still one
```

The third step does not do what the lesson says.

```console
$ echo "something else"
what the lesson says
```
MD
  SOCK=boxkit-present-$$-$BATS_TEST_NUMBER
}

teardown() {
  tmux -L "$SOCK" kill-server 2>/dev/null || true
}

# Wait until the terminal shows TEXT (a grep -E pattern); print the screen if it never does.
screen_shows() {
  local i
  for i in $(seq 1 100); do
    tmux -L "$SOCK" capture-pane -p -t present > screen.txt 2>/dev/null || true
    grep -Eq -- "$1" screen.txt && return 0
    sleep 0.1
  done
  echo "the terminal never showed: $1" >&2
  cat screen.txt >&2
  return 1
}
press() { tmux -L "$SOCK" send-keys -t present "$@"; }

start_presenter() {
  require_cmd tmux
  mkdir -p "$BATS_TEST_TMPDIR/tmp"
  tmux -L "$SOCK" new-session -d -s present -x 100 -y 40 \
    "TMPDIR=$BATS_TEST_TMPDIR/tmp $PRESENT $* $BATS_TEST_TMPDIR/lesson; echo PRESENT-EXIT=\$?; sleep 60"
}

@test "keys: run, next, run again, back, skip, quit; state carries from step to step" {
  start_presenter
  screen_shows 'step 1/3'
  screen_shows '\[Enter\] run'
  run grep -c 'step one one' screen.txt
  assert_output 0                                   # nothing runs before a key
  press Enter;  screen_shows '^step one one$'
  screen_shows '\[as the lesson says\]'
  press Enter;  screen_shows 'step 2/3'
  screen_shows 'counts how often it ran'            # the lesson's text is shown
  press Enter;  screen_shows '^count 1, X still one$'
  press r;      screen_shows '^count 2, X still one$'
  press b;      screen_shows 'step 1/3'
  press s;      screen_shows 'step 2/3'             # skipped step 1: not run again
  press Enter;  screen_shows '^count 3, X still one$'
  press Enter;  screen_shows 'step 3/3'
  press Enter;  screen_shows '^something else$'
  screen_shows 'not what the lesson says'
  screen_shows '^  what the lesson says$'
  press q;      screen_shows 'PRESENT-EXIT=0'
}

@test "closing the terminal mid-lesson leaves no scratch directory behind" {
  start_presenter
  screen_shows 'step 1/3'
  press Enter;  screen_shows '^step one one$'
  run ls "$BATS_TEST_TMPDIR/tmp"
  assert_output --regexp '^boxkit-present\.'      # the lesson's scratch directory, while it runs
  tmux -L "$SOCK" kill-server                      # the terminal goes: SIGHUP
  local i
  for i in $(seq 50); do [ -z "$(ls "$BATS_TEST_TMPDIR/tmp")" ] && break; sleep 0.1; done
  run ls "$BATS_TEST_TMPDIR/tmp"
  assert_output ""
}

@test "a SIGHUP, a SIGTERM and the hangup at once: none cuts the clean-up short" {
  cat > lesson/README.md <<'MD'
# A lesson that leaves much to clean up

```console
$ mkdir -p $(seq -f 'd%g/e' 300) && echo made
made
```
MD
  start_presenter
  screen_shows 'step 1/1'
  press Enter;  screen_shows '^made$'
  local pid
  pid=$(pgrep -f "/present $BATS_TEST_TMPDIR/lesson\$") || fail "no presenter running"
  kill -HUP "$pid"; kill -TERM "$pid"; tmux -L "$SOCK" kill-server   # a closing terminal, and its hangup
  local i
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  run ls "$BATS_TEST_TMPDIR/tmp"
  assert_output ""
}

@test "arrow keys move between steps; q before running quits at once" {
  start_presenter
  screen_shows 'step 1/3'
  press Right;  screen_shows '^step one one$'
  press Right;  screen_shows 'step 2/3'
  press Left;   screen_shows 'step 1/3'
  press q;      screen_shows 'PRESENT-EXIT=0'
}

@test "--auto runs straight through and exits 1 when a step differs from the lesson" {
  bk_run 1 "$PRESENT" --auto lesson
  assert_output --partial 'step one one'
  assert_output --partial 'count 1, X still one'
  assert_output --partial 'not what the lesson says'
  assert_output --partial '3 steps, 1 not as the lesson says'
  sed -i 's/^what the lesson says$/something else/' lesson/README.md
  bk_run 0 "$PRESENT" --auto lesson/README.md
  assert_output --partial '3 steps, 0 not as the lesson says'
}

@test "--auto narrates boxkit tools with --explain, and still checks the output" {
  require_root
  make_busybox_root "$BATS_TEST_TMPDIR/root"
  cat > lesson/README.md <<MD
# Narration

\`\`\`console
\$ chrootify $BATS_TEST_TMPDIR/root -- /bin/echo inside
inside
\`\`\`
MD
  bk_run 0 "$PRESENT" --auto lesson
  assert_output --partial 'chrootify: explain: '
  assert_output --partial '[as the lesson says]'
  bk_run 0 "$PRESENT" --auto --no-explain lesson
  refute_output --partial 'explain'
}

@test "--auto presents lesson 00 from start to end" {
  BK_TIMEOUT=120 bk_run 0 "$PRESENT" --auto 00
  assert_output --partial '[step 1/'
  assert_output --regexp 'present: 00 .*: [0-9]+ steps, 0 not as the lesson says'
}

@test "bad lesson names and missing terminals are refused with a hint" {
  bk_run 1 "$PRESENT" --auto 99
  assert_regex "$stderr" 'cannot find the lesson 99'
  bk_run 1 setsid "$PRESENT" lesson </dev/null
  assert_regex "$stderr" 'cannot read keys: no terminal'
  bk_run 0 "$PRESENT" --help
  assert_output --partial 'lessons/present'
}

@test "--auto presents lesson 08 narrated, as the lesson says" {
  require_root
  require_cmd socat; require_cmd runc; require_cmd jq
  BK_TIMEOUT=300 bk_run 0 "$PRESENT" --auto 08
  assert_output --partial 'chrootify: explain: '
  assert_output --regexp 'present: 08 .*: [0-9]+ steps, 0 not as the lesson says'
}

@test "--from starts at a later step; a lesson this machine cannot run exits 77 with the reason" {
  bk_run 1 "$PRESENT" --auto --from 3 lesson
  refute_output --partial 'step one one'
  assert_output --partial '[step 3/3]'
  sed -i '1s/.*/<!-- lesson: needs=cmd:no-such-command-here timeout=5 -->/' lesson/README.md
  bk_run 77 "$PRESENT" --auto lesson
  assert_regex "$stderr" 'needs the command no-such-command-here'
}
