#!/usr/bin/env bats
# make demo (scripts/demo): the main job end to end. It must fetch the page
# from the box, and leave nothing running: no registry, no box, no cgroup,
# no mount, no temporary directory.

load helpers

setup() {
  require_root
  require_cmd docker-registry
  require_cmd curl
}

@test "demo: the page is fetched from the box and nothing is left behind" {
  BK_TIMEOUT=300 bk_run 0 env BOXKIT_BIN="$BOXKIT_BIN" "$BATS_TEST_DIRNAME/../../scripts/demo"
  assert_output --partial "<h1>hello from a boxkit box</h1>"       # curl from the host, through netfwd
  assert_output --regexp "PID +USER +COMMAND.*1 root +/bin/httpd"   # boxrun exec sees the box
  assert_regex "$stderr" "== 6. Stop the box"
  local work box
  work=$(grep -o '/tmp/boxkit-demo\.[A-Za-z0-9]*' <<<"$stderr" | head -1)
  box=$(grep -o 'demo-web-[0-9]*' <<<"$output" | head -1)
  [ -n "$work" ] && [ -n "$box" ]
  run pgrep -f "docker-registry serve $work"
  assert_failure "no registry process is left"
  run pgrep -f "boxrun _supervise $box"
  assert_failure "no boxrun supervisor is left"
  run pgrep -f -- "--name $box"
  assert_failure "no process of the box is left"
  run cgctl ls
  refute_output --partial "boxrun-$box"
  assert_equal "$(mounts_under "$work")" ""
  assert [ ! -e "$work" ]
}

@test "demo: a failing step still stops the registry (trap)" {
  # A PATH whose curl fails after the registry is up makes step 1 fail.
  local fake=$BATS_TEST_TMPDIR/bin
  mkdir -p "$fake"
  printf '#!/bin/sh\ncase "$*" in *_catalog*) exit 7;; esac\nexec /usr/bin/curl "$@"\n' > "$fake/curl"
  chmod +x "$fake/curl"
  BK_TIMEOUT=120 bk_run 7 env BOXKIT_BIN="$BOXKIT_BIN" PATH="$fake:$PATH" "$BATS_TEST_DIRNAME/../../scripts/demo"
  local work
  work=$(grep -o '/tmp/boxkit-demo\.[A-Za-z0-9]*' <<<"$stderr" | head -1)
  [ -n "$work" ]
  run pgrep -f "docker-registry serve $work"
  assert_failure "the registry was stopped"
  assert [ ! -e "$work" ]
}

@test "demo: refuses to run as an ordinary user, exit 125" {
  id nobody >/dev/null 2>&1 || skip "needs the user nobody"
  bk_run 125 setpriv --reuid=nobody --regid=nogroup --clear-groups "$BATS_TEST_DIRNAME/../../scripts/demo"
  assert_regex "$stderr" "demo: hint: sudo make demo"
}
