#!/usr/bin/env bats
# Load (issue 10): many boxes at once, concurrent pulls, many connections.
# Each test checks results and that nothing leaked, not how fast it went.

load helpers

setup() {
  require_root
  cd "$BATS_TEST_TMPDIR"
  export BOXKIT_RUN=$BATS_TEST_TMPDIR/run BOXKIT_STORE=$BATS_TEST_TMPDIR/store BOXKIT_LAYERS=$BATS_TEST_TMPDIR/layers
  : > "$BATS_TEST_TMPDIR/pids"
}

teardown() {
  local pid
  while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$BATS_TEST_TMPDIR/pids"
  [ -f "$BATS_TEST_TMPDIR/reg/pid" ] && { . "$BATS_TEST_DIRNAME/../regpull/registry.bash"; registry_stop "$BATS_TEST_TMPDIR/reg"; }
  true
}

@test "load: 16 named boxes started and stopped in parallel, 100 times: every exit code right, nothing left" {
  require_cmd nsjail-lite
  rounds=${LOAD_ROUNDS:-100}
  for r in $(seq "$rounds"); do
    pids=()
    for j in $(seq 16); do
      nsjail-lite --name "load-$j" --pid --uts --ipc --mount -- /bin/sh -c "exit $(( (r + j) % 7 ))" >/dev/null 2>&1 &
      pids+=($!)
    done
    j=0
    for pid in "${pids[@]}"; do
      j=$((j + 1))
      status=0; wait "$pid" || status=$?
      [ "$status" -eq $(( (r + j) % 7 )) ] || { echo "round $r box $j: exit $status, wanted $(( (r + j) % 7 ))" >&2; false; }
    done
  done
  # No record left, and the names are free.
  assert_equal "$(ls "$BOXKIT_RUN" 2>/dev/null | grep -c '\.json$' || true)" "0"
  bk_run 0 nsjail-lite --name load-1 --pid -- /bin/true
}

@test "load: 8 concurrent pulls of overlapping images: every image verified, each blob stored once" {
  require_cmd regpull
  require_cmd docker-registry
  require_cmd skopeo
  . "$BATS_TEST_DIRNAME/../regpull/registry.bash"
  reg=127.0.0.1:$(free_port)
  registry_start "$BATS_TEST_TMPDIR/reg" "${reg#*:}" 3>&-
  for n in 1 2 3 4; do
    python3 "$BATS_TEST_DIRNAME/../regpull/mkimage.py" img "i$n" --seed "$n" --layers 3 --shared-base >/dev/null
    skopeo copy -q --dest-tls-verify=false "oci:img:i$n" "docker://$reg/load/i$n:1"
  done
  pids=()
  for k in $(seq 8); do
    regpull --quiet "$reg/load/i$(( (k - 1) % 4 + 1 )):1" > "pull$k.out" 2> "pull$k.err" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  # Every blob's name is its digest (so each was verified), and no blob twice.
  for f in "$BOXKIT_STORE"/blobs/sha256/*; do
    assert_equal "$(sha256sum < "$f" | cut -d' ' -f1)" "$(basename "$f")"
  done
  # 4 images of 3 layers sharing the first: 1 + 4*2 layers, 4 configs, 4 manifests.
  assert_equal "$(ls "$BOXKIT_STORE"/blobs/sha256 | wc -l)" "17"
  assert_equal "$(jq '.manifests | length' "$BOXKIT_STORE/index.json")" "4"
  for n in 1 2 3 4; do
    bk_run 0 imgpack inspect "$reg/load/i$n:1" --json
  done
}

@test "load: 10,000 checksummed connections in bursts through netfwd: nothing lost, fds back to the baseline" {
  require_cmd netfwd
  require_cmd python3
  unshare --net sh -c 'ip link set lo up; exec python3 "$0" serve 7000' "$BATS_TEST_DIRNAME/../load/conns.py" </dev/null >/dev/null 2>&1 3>&- &
  box=$!
  echo "$box" >> "$BATS_TEST_TMPDIR/pids"
  for _ in $(seq 100); do
    [ -n "$(nsenter --net=/proc/$box/ns/net ss -Htln 'sport = :7000' 2>/dev/null)" ] && break
    sleep 0.05
  done
  port=$(( 21000 + $$ % 9000 ))
  bk_run 0 netfwd publish "$port:7000" --pid "$box" --detach --pid-file fwd.pid
  fwd=$(cat fwd.pid); echo "$fwd" >> "$BATS_TEST_TMPDIR/pids"
  base=$(ls /proc/$fwd/fd | wc -l)
  bk_run 0 python3 "$BATS_TEST_DIRNAME/../load/conns.py" client "$port" "${LOAD_CONNS:-10000}" 64
  assert_output "ok ${LOAD_CONNS:-10000}"
  for _ in $(seq 50); do [ "$(ls /proc/$fwd/fd | wc -l)" -le "$base" ] && break; sleep 0.1; done
  assert_equal "$(ls /proc/$fwd/fd | wc -l)" "$base"
}
