#!/usr/bin/env bats
# regpull: registries. Against Debian's docker-registry (one open, one with
# htpasswd Basic auth) with images pushed there by skopeo, and against
# tests/regpull/fakereg.py for the faults a real registry will not produce.

load helpers

FIX=$BATS_TEST_DIRNAME/../regpull

setup_file() {
  command -v docker-registry >/dev/null || return 0
  command -v skopeo >/dev/null || return 0
  . "$FIX/registry.bash"
  export W=$BATS_FILE_TMPDIR
  export REG=127.0.0.1:$(free_port)
  registry_start "$W/reg" "${REG#*:}" 3>&-
  export AUTH=127.0.0.1:$(free_port)
  registry_start "$W/auth" "${AUTH#*:}" alice s3cret 3>&-
  mkdir -p "$W/fake"
  python3 "$FIX/fakereg.py" "$W/fake" 3>&- >/dev/null 2>&1 &
  echo $! > "$W/fake/pid"
  for _ in $(seq 100); do [ -f "$W/fake/ports" ] && break; sleep 0.1; done
  read -r fm fs < "$W/fake/ports"
  export FAKE=127.0.0.1:$fm FAKE_STORAGE=127.0.0.1:$fs
  # Two images that share their first layer, and their digests.
  # (skopeo rewrites the manifest on the way, so ask the registry for the digest.)
  python3 "$FIX/mkimage.py" "$W/img" one --seed 1 --layers 2 --shared-base >/dev/null
  python3 "$FIX/mkimage.py" "$W/img" two --seed 2 --layers 3 --shared-base >/dev/null
  local n
  for n in one two; do
    skopeo copy -q --dest-tls-verify=false "oci:$W/img:$n" "docker://$REG/demo/$n:1"
    skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/demo/$n:1" > "$W/$n.digest"
  done
}

teardown_file() {
  [ -n "${W:-}" ] || return 0
  . "$FIX/registry.bash"
  registry_stop "$W/reg"
  registry_stop "$W/auth"
  [ -f "$W/fake/pid" ] && kill "$(cat "$W/fake/pid")" 2>/dev/null || true
}

setup() {
  require_cmd docker-registry
  require_cmd skopeo
  [ -n "${REG:-}" ] || skip "the test registries did not start"
  cd "$BATS_TEST_TMPDIR"
  export BOXKIT_STORE=$BATS_TEST_TMPDIR/store
  export DOCKER_CONFIG=$BATS_TEST_TMPDIR/docker  # never the real ~/.docker
}

last_line() { printf '%s\n' "$output" | tail -n 1; }

# ---- exit codes and messages --------------------------------------------

@test "exit codes: help 0, version 0, bad flag 125, bad input 125, unknown image 125" {
  while read -r want args; do
    # shellcheck disable=SC2086
    bk_run "$want" regpull $args
  done <<EOT
0   --help
0   --version
0   push --help
0   $REG/demo/one:1
125 --no-such-flag $REG/demo/one:1
125
125 Not/Upper:case
125 --platform linux $REG/demo/one:1
125 --jobs 0 $REG/demo/one:1
125 $REG/demo/missing:1
125 127.0.0.1:1/demo/one:1
125 push $REG/not/in-store:1 $REG/x/y:1
125 --username alice $AUTH/demo/one:1
EOT
}

@test "errors have the one shape, with a hint" {
  bk_run 125 regpull "$REG/demo/missing:1"
  assert_equal "$output" ""
  assert_regex "$stderr" "(^|"$'\n'")regpull: cannot fetch the manifest of demo/missing:1: GET http://$REG/v2/demo/missing/manifests/1: HTTP 404 MANIFEST_UNKNOWN"
  assert_regex "$stderr" $'\n''regpull: hint: check the name and the tag'
  bk_run 125 regpull --bogus x
  assert_regex "$stderr" "^regpull: cannot understand the command line: .*"$'\n'"regpull: hint: see 'regpull --help'"
}

@test "--help and --version exit 0 on stdout" {
  bk_run 0 regpull --help
  assert_output --partial "Usage: regpull"
  assert_output --partial "Lesson: lessons/06-registries"
  bk_run 0 regpull --version
  assert_output --regexp '^regpull [0-9]+\.[0-9]+\.[0-9]+$'
}

# ---- pulling from docker-registry -----------------------------------------

@test "pull: the last stdout line is the reference with the digest skopeo pushed" {
  bk_run 0 regpull "$REG/demo/one:1"
  assert_equal "$(last_line)" "$REG/demo/one:1@$(cat "$W/one.digest")"
  # The store holds exactly the blobs skopeo pulls, each named by its content.
  skopeo copy -q --src-tls-verify=false "docker://$REG/demo/one:1" "oci:$BATS_TEST_TMPDIR/sk:x"
  assert_equal "$(ls "$BOXKIT_STORE/blobs/sha256")" "$(ls "$BATS_TEST_TMPDIR/sk/blobs/sha256")"
  for f in "$BOXKIT_STORE"/blobs/sha256/*; do
    assert_equal "$(sha256sum < "$f" | cut -d' ' -f1)" "$(basename "$f")"
  done
  run jq -r '.manifests[] | .annotations["org.opencontainers.image.ref.name"] + " " + .digest' "$BOXKIT_STORE/index.json"
  assert_output "$REG/demo/one:1 $(cat "$W/one.digest")"
}

@test "pull: shared layers are not fetched again (Already exists)" {
  bk_run 0 regpull "$REG/demo/one:1"
  bk_run 0 regpull "$REG/demo/two:1"
  assert_regex "$stderr" "[0-9a-f]{12}: Already exists"
  assert_regex "$stderr" "Status: Downloaded .*\(3 of 4 blobs fetched\)"
  bk_run 0 regpull "$REG/demo/two:1"
  assert_regex "$stderr" "\(0 of 4 blobs fetched\)"
}

@test "pull by digest, and --json events end with the pulled reference" {
  d=$(cat "$W/one.digest")
  bk_run 0 regpull "$REG/demo/one@$d"
  assert_equal "$(last_line)" "$REG/demo/one@$d"
  bk_run 0 regpull --json "$REG/demo/one:1"
  printf '%s\n' "$output" | jq -e . >/dev/null
  assert_equal "$(last_line | jq -r .event)" "pulled"
  assert_equal "$(last_line | jq -r .reference)" "$REG/demo/one:1@$d"
  assert_regex "$output" '"event":"exists"'
}

@test "--quiet prints only the reference; --explain leaves stdout clean" {
  bk_run 0 regpull -q "$REG/demo/one:1"
  assert_equal "$stderr" ""
  assert_equal "$output" "$REG/demo/one:1@$(cat "$W/one.digest")"
  rm -rf "$BOXKIT_STORE"
  bk_run 0 regpull --explain "$REG/demo/one:1"
  assert_equal "$output" "$REG/demo/one:1@$(cat "$W/one.digest")"
  assert_regex "$stderr" "regpull: explain: fetch the manifest of demo/one:1: GET http://$REG/v2/demo/one/manifests/1"
  assert_regex "$stderr" "regpull: explain: give the verified blob its name: linkat"
}

@test "two pulls of one image at once both succeed and store it once" {
  regpull -q "$REG/demo/two:1" > a.out 2> a.err & a=$!
  regpull -q "$REG/demo/two:1" > b.out 2> b.err & b=$!
  wait $a; wait $b
  assert_equal "$(cat a.out)" "$(cat b.out)"
  assert_equal "$(jq '.manifests | length' "$BOXKIT_STORE/index.json")" 1
  assert_equal "$(ls -A "$BOXKIT_STORE/blobs/sha256" | wc -l)" 5   # 3 layers, config, manifest
}

@test "a pull killed half-way leaves the store as it was" {
  bk_run 0 regpull -q "$REG/demo/one:1"
  before=$(tree_digest "$BOXKIT_STORE")
  regpull -q "$FAKE/slow/img:1" 2> err & p=$!
  sleep 1.5
  kill -TERM $p
  st=0; wait $p || st=$?
  assert_equal "$st" 143
  assert_regex "$(cat err)" "interrupted by signal 15"
  assert_equal "$(tree_digest "$BOXKIT_STORE")" "$before"
  regpull -q "$FAKE/slow/img:1" 2> err & p=$!
  sleep 1.5
  kill -KILL $p
  st=0; wait $p || st=$?
  assert_equal "$st" 137
  assert_equal "$(tree_digest "$BOXKIT_STORE")" "$before"
}

# ---- pushing, tags, manifests ----------------------------------------------

@test "push: a sibling repository gets its blobs mounted, then the digest is the same" {
  bk_run 0 regpull -q "$REG/demo/one:1"
  bk_run 0 regpull push "$REG/demo/one:1" "$REG/class/one:1"
  assert_regex "$stderr" "Mounted from demo/one"
  assert_equal "$output" "$REG/class/one:1@$(cat "$W/one.digest")"
  run skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/class/one:1"
  assert_output "$(cat "$W/one.digest")"
  bk_run 0 regpull push --json "$REG/demo/one:1" "$REG/class/one:2"
  printf '%s\n' "$output" | jq -e . >/dev/null
  assert_regex "$output" '"status":"Layer already exists"'
  assert_equal "$(last_line | jq -r '.event + " " + .reference')" "pushed $REG/class/one:2@$(cat "$W/one.digest")"
}

@test "Basic auth: refused without credentials, works with --password-stdin and config.json" {
  bk_run 0 regpull -q "$REG/demo/one:1"
  bk_run 125 regpull push "$REG/demo/one:1" "$AUTH/team/one:1"
  assert_regex "$stderr" "cannot log in to $AUTH: .*HTTP 401"
  assert_regex "$stderr" "hint: the registry wants a user name and password"
  bk_run 0 bash -c "echo s3cret | regpull push -u alice --password-stdin $REG/demo/one:1 $AUTH/team/one:1"
  assert_regex "$stderr" "Pushed"
  bk_run 125 bash -c "echo wrong | BOXKIT_STORE=$BATS_TEST_TMPDIR/s2 regpull -u alice --password-stdin $AUTH/team/one:1"
  assert_regex "$stderr" "refused the credentials from --username alice"
  mkdir -p "$DOCKER_CONFIG"
  printf '{"auths":{"%s":{"auth":"%s"}}}' "$AUTH" "$(printf alice:s3cret | base64)" > "$DOCKER_CONFIG/config.json"
  bk_run 0 env BOXKIT_STORE="$BATS_TEST_TMPDIR/s3" regpull "$AUTH/team/one:1"
  assert_equal "$(last_line)" "$AUTH/team/one:1@$(cat "$W/one.digest")"
}

@test "tags and manifest look without pulling" {
  bk_run 0 regpull tags "$REG/demo/one"
  assert_output "1"
  bk_run 0 regpull tags --json "$REG/demo/one"
  assert_equal "$(jq -c . <<<"$output")" "{\"name\":\"$REG/demo/one\",\"tags\":[\"1\"]}"
  bk_run 0 regpull manifest "$REG/demo/one:1"
  assert_equal "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" "$(cat "$W/one.digest")"
  bk_run 0 regpull manifest --json "$REG/demo/one:1"
  assert_equal "$(jq -r .digest <<<"$output")" "$(cat "$W/one.digest")"
  assert_equal "$(jq -r '.manifest.layers | length' <<<"$output")" 2
  assert [ ! -e "$BOXKIT_STORE" ]
}

# ---- faults only a misbehaving registry produces ---------------------------

@test "bad blobs and bad manifests: exit 125, a clear message, the store unchanged" {
  bk_run 0 regpull -q "$REG/demo/one:1"
  before=$(tree_digest "$BOXKIT_STORE")
  while read -r mode pattern; do
    bk_run 125 regpull -q "$FAKE/$mode/img:1"
    assert_regex "$stderr" "$pattern"
    assert_equal "$(tree_digest "$BOXKIT_STORE")" "$before"
  done <<'EOT'
wrongbyte   cannot download blob sha256:[0-9a-f]+: its bytes have the digest sha256:
short       the registry sent 65526 bytes, the manifest promises 65536
long        the registry sent more than the 65536 bytes
bigmanifest the answer is longer than the 4194304 bytes allowed
nested      is another index, where an image manifest should be
evil        its digest "sha256:../../x" is not sha256:
schema1     cannot pull a Docker schema 1 manifest
nomatch     the image is built for: windows/amd64
EOT
  assert [ ! -e "$BATS_TEST_TMPDIR/x" ]
  assert [ ! -e "$BOXKIT_STORE/x" ]
}

@test "a connection cut mid-blob resumes with a Range request" {
  bk_run 0 regpull -q "$FAKE/cut/img:1"
  assert_regex "$(cat "$W/fake/main.log")" "GET /v2/cut/img/blobs/sha256:[0-9a-f]+ auth=- range=bytes=[1-9][0-9]*-"
}

@test "a server that ignores Range: the blob starts over and still verifies" {
  bk_run 0 regpull -q "$FAKE/cutfull/img:1"
  assert_regex "$(cat "$W/fake/main.log")" "GET /v2/cutfull/img/blobs/sha256:[0-9a-f]+ auth=- range=bytes=[1-9][0-9]*-"
  assert_equal "$(ls "$BOXKIT_STORE/blobs/sha256" | wc -l)" 3
}

@test "429 then 503 then success: retried, honouring Retry-After" {
  bk_run 0 regpull -v "$FAKE/flaky/img:1"
  assert_regex "$stderr" "retrying GET .*/flaky/img/manifests/1 in 1.00 s: HTTP 429"
  assert_regex "$stderr" "retrying GET .*: HTTP 503"
  assert_equal "$(grep -c 'GET /v2/flaky/img/manifests/1 ' "$W/fake/main.log")" 3
}

@test "a redirect to another port does not carry the credentials" {
  bk_run 0 bash -c "echo s3cret | regpull -q -u alice --password-stdin $FAKE/redirect/img:1"
  assert_regex "$(cat "$W/fake/main.log")" "GET /v2/redirect/img/blobs/[^ ]+ auth=Basic "
  run cat "$W/fake/storage.log"
  assert_output --regexp "^GET /storage/sha256:[0-9a-f]+ auth=- "
  refute_output --partial "auth=Basic"
}

@test "Bearer token flow: 401, a token from the realm, the request again" {
  bk_run 0 regpull --explain "$FAKE/token/img:1"
  assert_regex "$stderr" "explain: get a token for repository:token/img:pull from the registry's auth server: GET http://$FAKE/token\?service=fake&scope=repository%3Atoken%2Fimg%3Apull"
  assert_regex "$(cat "$W/fake/main.log")" "auth=Bearer tok-123"
}

@test "an index: the platform is chosen, by default this machine's" {
  [ "$(uname -m)" = x86_64 ] || skip "the default-platform check assumes amd64"
  bk_run 0 regpull --platform linux/arm64 "$FAKE/index/img:1"
  arm=$(last_line); arm=${arm#*@}
  bk_run 0 env BOXKIT_STORE="$BATS_TEST_TMPDIR/s2" regpull "$FAKE/index/img:1"
  amd=$(last_line); amd=${amd#*@}
  assert [ "$arm" != "$amd" ]
  assert_equal "$(jq -r .architecture "$BOXKIT_STORE/blobs/sha256/$(jq -r .config.digest "$BOXKIT_STORE/blobs/sha256/${arm#sha256:}" | cut -d: -f2)")" arm64
  assert_equal "$(jq -r '.manifests[0].platform.architecture' "$BATS_TEST_TMPDIR/s2/index.json")" amd64
}

@test "an index on docker-registry: the platform's manifest is pulled and tagged" {
  [ "$(uname -m)" = x86_64 ] || skip "the default-platform check assumes amd64"
  skopeo copy -q --dest-tls-verify=false "oci:$W/img:two" "docker://$REG/demo/one:two"
  one=$(cat "$W/one.digest") two=$(cat "$W/two.digest")
  size() { curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/demo/one/manifests/$1" | wc -c; }
  jq -n --arg a "$one" --argjson as_ "$(size "$one")" --arg b "$two" --argjson bs "$(size "$two")" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [
      {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $a, size: $as_, platform: {os: "linux", architecture: "amd64"}},
      {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $b, size: $bs, platform: {os: "linux", architecture: "arm64"}}]}' > index.json
  run curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' \
    --data-binary @index.json "http://$REG/v2/demo/one/manifests/multi"
  assert_output 201
  bk_run 0 regpull manifest --json "$REG/demo/one:multi"
  assert_equal "$(jq -r .media_type <<<"$output")" "application/vnd.oci.image.index.v1+json"
  bk_run 0 regpull manifest --json --platform linux/arm64 "$REG/demo/one:multi"
  assert_equal "$(jq -r '.digest + " " + .platform' <<<"$output")" "$two linux/arm64"
  bk_run 0 regpull -q "$REG/demo/one:multi"
  assert_equal "$output" "$REG/demo/one:multi@$one"
  bk_run 0 regpull -q --platform linux/arm64 "$REG/demo/one:multi"
  assert_equal "$output" "$REG/demo/one:multi@$two"
  assert_equal "$(jq -r '.manifests[] | .platform.architecture + " " + .digest' "$BOXKIT_STORE/index.json")" "arm64 $two"
  # The index itself is kept, so NAME@INDEX-DIGEST is in the store too.
  index_digest=sha256:$(sha256sum < index.json | cut -d' ' -f1)
  assert [ -f "$BOXKIT_STORE/blobs/sha256/${index_digest#sha256:}" ]
  bk_run 125 regpull -q --platform linux/s390x "$REG/demo/one:multi"
  assert_regex "$stderr" "hint: the image is built for: linux/amd64, linux/arm64; choose one with --platform"
}
