#!/usr/bin/env bats
# imgpack: images. Each test has its own store ($BOXKIT_STORE) and layer
# cache; the base image is built from a busybox root once per file.
# Hostile layers are crafted here (python3 tarfile) and loaded as docker
# archives; each runs beside a sentinel directory that must not change.

load helpers

setup_file() {
  export ROOT=$BATS_FILE_TMPDIR/rootfs
  make_busybox_root "$ROOT"
  mkdir -p "$ROOT/etc/dir/sub" "$ROOT/var/empty"
  echo "only inside" > "$ROOT/etc/marker"
  echo "sub" > "$ROOT/etc/dir/sub/file"
  ln "$ROOT/etc/dir/sub/file" "$ROOT/etc/dir/hard"
  chmod 4755 "$ROOT/etc/dir/sub/file"
  ln -s ../etc/marker "$ROOT/var/marker-link"
  export BASE_STORE=$BATS_FILE_TMPDIR/base-store
  BOXKIT_STORE=$BASE_STORE imgpack build "$ROOT" --tag bats/base:1 \
    --cmd '["/bin/sh", "-c", "echo hello from the image"]' --env GREETING=hi >/dev/null
}

setup() {
  cd "$BATS_TEST_TMPDIR"
  export BOXKIT_STORE=$BATS_TEST_TMPDIR/store BOXKIT_LAYERS=$BATS_TEST_TMPDIR/layers
  cp -a "$BASE_STORE" "$BOXKIT_STORE"
}

blob_of() { # IMAGE N: the path of layer N's blob (1 = bottom)
  local d
  d=$(imgpack layers "$1" --json | jq -r ".layers[$(($2 - 1))].digest")
  echo "$BOXKIT_STORE/blobs/sha256/${d#sha256:}"
}

# ---- exit codes, messages, help ------------------------------------------

@test "exit codes: 0 for work and help, 125 for every bad input" {
  mkdir -p full && touch full/x
  while read -r want args; do
    # shellcheck disable=SC2086
    bk_run "$want" imgpack $args
  done <<EOT
0   --help
0   --version
0   ls
0   inspect bats/base:1
0   unpack --help
0   fsck
0   fsck --json
125 --store /no/such/store fsck
125 fsck --no-such-flag
125
125 --no-such-flag ls
125 frobnicate
125 inspect no/such:image
125 inspect Alpine
125 inspect alpine@sha256:../../etc/passwd
125 unpack bats/base:1 full
125 unpack bats/base:1
125 build /no/such/dir --tag x:1
125 build . --tag Bad:Tag
125 tag bats/base:1 bad@@name
125 load -i /no/such/file.tar
125 save bats/base:1 -o out.tar --format zip
125 ls -- /bin/true
EOT
}

@test "errors have the one shape, with a hint" {
  bk_run 125 imgpack inspect no/such:image
  assert_equal "$output" ""
  assert_regex "$stderr" '^imgpack: cannot find the image no/such:image in the store '
  assert_regex "$stderr" $'\n''imgpack: hint: see .imgpack ls.'
  bk_run 125 imgpack unpack Alpine x
  assert_regex "$stderr" '^imgpack: cannot use "Alpine" as an image name: repository names must be lowercase'
  bk_run 125 imgpack --bogus ls
  assert_regex "$stderr" "^imgpack: cannot understand the command line: .*"$'\n'"imgpack: hint: see 'imgpack --help'"
}

@test "--help and --version exit 0 on stdout" {
  bk_run 0 imgpack --help
  assert_output --partial "Usage: imgpack"
  assert_output --partial "Lesson: lessons/05-images"
  bk_run 0 imgpack --version
  assert_output --regexp '^imgpack [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "--explain narrates on stderr and leaves stdout clean" {
  bk_run 0 imgpack --explain unpack bats/base:1 out --json
  echo "$output" | jq -e '.entries > 0' >/dev/null
  assert_regex "$stderr" 'imgpack: explain: read layer 1 .*: open\('
  bk_run 0 imgpack --explain build "$ROOT" --tag bats/explained:1
  assert_regex "$output" '^sha256:[0-9a-f]{64}$'
  assert_regex "$stderr" 'imgpack: explain: give the verified blob its name: '
  assert_regex "$stderr" 'imgpack: explain: put the new index.json in place in one step: renameat'
}

# ---- the store -------------------------------------------------------------

@test "the store is an OCI layout: 0700 directories, full references in index.json" {
  imgpack tag bats/base:1 alpine:3.19
  assert_equal "$(stat -c %a "$BOXKIT_STORE")" 700
  assert_equal "$(stat -c %a "$BOXKIT_STORE/blobs/sha256")" 700
  assert_equal "$(jq -r .imageLayoutVersion "$BOXKIT_STORE/oci-layout")" 1.0.0
  run jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]' "$BOXKIT_STORE/index.json"
  assert_line "docker.io/bats/base:1"
  assert_line "docker.io/library/alpine:3.19"
  bk_run 0 imgpack ls
  assert_output --partial "alpine "
  refute_output --partial "docker.io/library"
  bk_run 0 imgpack ls --json
  assert_equal "$(echo "$output" | jq -r '[.[].reference] | sort | join(",")')" "docker.io/bats/base:1,docker.io/library/alpine:3.19"
  # every blob's name is its digest
  for b in "$BOXKIT_STORE"/blobs/sha256/*; do
    assert_equal "$(sha256sum "$b" | cut -d' ' -f1)" "$(basename "$b")"
  done
}

@test "concurrent taggers never lose a tag or corrupt index.json" {
  for p in 1 2 3; do
    ( for i in $(seq 1 15); do imgpack tag bats/base:1 "bats/par$p:$i" || exit 1; done ) &
  done
  wait
  jq -e . "$BOXKIT_STORE/index.json" >/dev/null
  assert_equal "$(imgpack ls --json | jq length)" 46
}

# ---- build, unpack, inspect ------------------------------------------------

@test "build then unpack gives back the same tree" {
  bk_run 0 imgpack unpack bats/base:1 out
  assert_equal "$(tree_digest out)" "$(tree_digest "$ROOT")"
  assert_equal "$(stat -c %a out/etc/dir/sub/file)" 4755
  assert_equal "$(stat -c %h out/etc/dir/hard)" 2
}

@test "inspect, config: id, tags, layers, history, the config" {
  bk_run 0 imgpack inspect bats/base:1 --json
  echo "$output" | jq -e '.id | test("^sha256:[0-9a-f]{64}$")' >/dev/null
  assert_equal "$(echo "$output" | jq -r '.tags[0]')" "docker.io/bats/base:1"
  assert_equal "$(echo "$output" | jq -r '.layers | length')" 1
  echo "$output" | jq -e '.layers[0].diff_id | startswith("sha256:")' >/dev/null
  assert_equal "$(echo "$output" | jq -r '.history[0].created_by')" "imgpack build $ROOT"
  bk_run 0 imgpack config bats/base:1 --json
  assert_equal "$(echo "$output" | jq -r '.config.Cmd | join(" ")')" "/bin/sh -c echo hello from the image"
  echo "$output" | jq -e '.config.Env | index("GREETING=hi")' >/dev/null
  bk_run 0 imgpack inspect bats/base:1
  assert_output --partial "Tags:         bats/base:1"
  # by image ID, short and long
  id=$(imgpack inspect bats/base:1 --json | jq -r .id)
  bk_run 0 imgpack inspect "${id:7:12}" --json
  assert_equal "$(echo "$output" | jq -r .id)" "$id"
}

@test "build --from: the new layer holds only what differs, with whiteouts" {
  cp -a "$ROOT" changed
  echo new > changed/etc/new-file
  echo changed > changed/etc/marker
  rm -r changed/etc/dir
  rm changed/var/marker-link
  bk_run 0 imgpack build changed --from bats/base:1 --tag bats/changed:1 --cmd 'echo changed' --label stage=2
  run tar -tzf "$(blob_of bats/changed:1 2)"
  assert_equal "$(printf '%s\n' "${lines[@]}" | sort | tr '\n' ' ')" \
    "etc/ etc/.wh.dir etc/marker etc/new-file var/ var/.wh.marker-link "
  bk_run 0 imgpack unpack bats/changed:1 out
  assert_equal "$(tree_digest out)" "$(tree_digest changed)"
  imgpack config bats/changed:1 --json | jq -e '.config.Labels.stage == "2" and (.rootfs.diff_ids | length) == 2' >/dev/null
}

@test "layers: zstd and uncompressed layers unpack the same" {
  imgpack build "$ROOT" --tag bats/zstd:1 --compress zstd >/dev/null
  imgpack build "$ROOT" --tag bats/plain:1 --compress none >/dev/null
  assert_equal "$(imgpack layers bats/zstd:1 --json | jq -r '.layers[0].media_type')" "application/vnd.oci.image.layer.v1.tar+zstd"
  assert_equal "$(imgpack layers bats/plain:1 --json | jq -r '.layers[0].media_type')" "application/vnd.oci.image.layer.v1.tar"
  imgpack unpack bats/zstd:1 z
  imgpack unpack bats/plain:1 p
  assert_equal "$(tree_digest z)" "$(tree_digest "$ROOT")"
  assert_equal "$(tree_digest p)" "$(tree_digest "$ROOT")"
}

# ---- tags, rm, gc --------------------------------------------------------

@test "rm removes a tag; gc keeps what another tag reaches and frees the rest" {
  cp -a "$ROOT" more; echo more > more/etc/more
  imgpack build more --from bats/base:1 --tag bats/more:1 >/dev/null
  imgpack tag bats/base:1 bats/alias:1
  n=$(ls "$BOXKIT_STORE/blobs/sha256" | wc -l)
  bk_run 0 imgpack rm bats/base:1
  assert_output "Untagged: bats/base:1"
  bk_run 0 imgpack gc --json
  assert_equal "$(echo "$output" | jq .blobs_removed)" 0     # bats/alias:1 still reaches it all
  bk_run 0 imgpack rm bats/more:1
  bk_run 0 imgpack gc
  assert_output --regexp '^freed .* \([0-9]+ bytes\): 3 blobs, 0 cached layers$'
  bk_run 0 imgpack unpack bats/alias:1 out           # the shared base layer stayed
  assert_equal "$(ls "$BOXKIT_STORE/blobs/sha256" | wc -l)" $((n - 3))
  bk_run 125 imgpack inspect bats/more:1
}

# ---- the layer cache and overlay ----------------------------------------

@test "layers --lowerdirs: each layer once in the cache, top first, for chrootify --overlay" {
  cp -a "$ROOT" top; echo top > top/etc/who; rm top/etc/marker
  imgpack build top --from bats/base:1 --tag bats/top:1 >/dev/null
  bk_run 0 imgpack layers bats/top:1 --lowerdirs
  IFS=: read -r upper lower <<<"$output"
  assert_equal "$upper" "$BOXKIT_LAYERS/$(imgpack layers bats/top:1 --json | jq -r '.layers[1].diff_id[7:]')"
  assert_equal "$lower" "$BOXKIT_LAYERS/$(imgpack layers bats/top:1 --json | jq -r '.layers[0].diff_id[7:]')"
  assert_equal "$(stat -c '%F %t:%T' "$upper/etc/marker")" "character special file 0:0"
  # shared: the base image's layer is the same directory, unpacked once
  before=$(stat -c %i "$lower")
  bk_run 0 imgpack layers bats/base:1 --lowerdirs
  assert_equal "$output" "$lower"
  assert_equal "$(stat -c %i "$lower")" "$before"
  bk_run 0 imgpack layers bats/top:1 --json
  assert_equal "$(echo "$output" | jq '[.layers[].cached] | all')" true
  require_root
  [ -x "$BOXKIT_BIN/chrootify" ] || skip "needs chrootify built in $BOXKIT_BIN"
  mkdir box
  bk_run 0 unshare -m chrootify --overlay "$upper:$lower" --upper "$PWD/up" box -- /bin/sh -c 'cat /etc/who; ls /etc/marker 2>&1 || true'
  assert_line --index 0 "top"
  assert_line --index 1 --partial "No such file"
}

@test "commit: an overlay box's upper directory becomes a new layer" {
  require_root
  [ -x "$BOXKIT_BIN/chrootify" ] || skip "needs chrootify built in $BOXKIT_BIN"
  lowers=$(imgpack layers bats/base:1 --lowerdirs)
  mkdir box
  bk_run 0 unshare -m chrootify --overlay "$lowers" --upper "$PWD/up" box -- /bin/sh -c \
    'echo made > /etc/made; rm /etc/marker; rm -r /etc/dir; mkdir /etc/dir; echo fresh > /etc/dir/fresh'
  bk_run 0 imgpack commit --upper up --from bats/base:1 --tag bats/committed:1
  run tar -tzf "$(blob_of bats/committed:1 2)"
  assert_line "etc/.wh.marker"
  assert_line "etc/dir/.wh..wh..opq"
  assert_line "etc/made"
  bk_run 0 imgpack unpack bats/committed:1 out
  assert_equal "$(cat out/etc/made)" made
  assert_file_not_exists out/etc/marker
  assert_equal "$(ls out/etc/dir)" fresh
  # the image the box ran is unchanged
  imgpack unpack bats/base:1 base
  assert_equal "$(tree_digest base)" "$(tree_digest "$ROOT")"
}

# ---- save and load ---------------------------------------------------------

@test "save --format docker: skopeo's docker-archive reads it; load reads it back" {
  require_cmd skopeo
  bk_run 0 imgpack save bats/base:1 -o base.tar
  assert_equal "$(tar -xOf base.tar manifest.json | jq -r '.[0].RepoTags[0]')" "bats/base:1"
  bk_run 0 skopeo inspect docker-archive:base.tar
  assert_equal "$(echo "$output" | jq -r '.Layers | length')" 1
  bk_run 0 skopeo copy docker-archive:base.tar oci:skopeo-oci:docker.io/bats/viaskopeo:1
  BOXKIT_STORE=$PWD/skopeo-oci bk_run 0 imgpack unpack bats/viaskopeo:1 via-skopeo
  assert_equal "$(tree_digest via-skopeo)" "$(tree_digest "$ROOT")"
  BOXKIT_STORE=$PWD/fresh bk_run 0 imgpack load -i base.tar
  assert_output "Loaded image: bats/base:1"
  BOXKIT_STORE=$PWD/fresh bk_run 0 imgpack unpack bats/base:1 loaded
  assert_equal "$(tree_digest loaded)" "$(tree_digest "$ROOT")"
  # and the other way: skopeo writes a docker-archive (the older layout), imgpack loads it
  bk_run 0 skopeo copy "oci:$BOXKIT_STORE:docker.io/bats/base:1" docker-archive:by-skopeo.tar:bats/fromskopeo:7
  BOXKIT_STORE=$PWD/fresh2 bk_run 0 imgpack load -i by-skopeo.tar
  assert_output "Loaded image: bats/fromskopeo:7"
  BOXKIT_STORE=$PWD/fresh2 bk_run 0 imgpack unpack bats/fromskopeo:7 loaded2
  assert_equal "$(tree_digest loaded2)" "$(tree_digest "$ROOT")"
}

@test "save --format oci: skopeo's oci-archive reads it; load reads it back" {
  require_cmd skopeo
  bk_run 0 imgpack save bats/base:1 -o base-oci.tar --format oci
  bk_run 0 skopeo inspect oci-archive:base-oci.tar:docker.io/bats/base:1
  BOXKIT_STORE=$PWD/fresh bk_run 0 imgpack load -i base-oci.tar --json
  assert_equal "$(echo "$output" | jq -r '.loaded[0].reference')" "docker.io/bats/base:1"
  assert_equal "$(BOXKIT_STORE=$PWD/fresh imgpack inspect bats/base:1 --json | jq -r .id)" \
               "$(imgpack inspect bats/base:1 --json | jq -r .id)"
}

@test "a failed save leaves no file; a hostile archive name is refused" {
  bk_run 125 imgpack save bats/base:1 no/such:image -o x.tar
  assert_file_not_exists x.tar
  ls x.tar.tmp-* 2>/dev/null && false
  mkdir -p evil/blobs/sha256 && echo '[]' > evil/manifest.json && echo x > 'evil/blobs/sha256/..%2f..%2fx'
  tar -C evil -cf evil.tar manifest.json blobs
  bk_run 125 imgpack load -i evil.tar
  assert_regex "$stderr" 'is not named by a sha256 digest'
}

@test "a load that fails part-way names no blob, not even the sound ones before the fault" {
  imgpack save bats/base:1 -o base.tar
  mkdir x && tar -C x -xf base.tar
  bad=$(printf 'a%.0s' {1..64})
  echo "not what its name says" > "x/blobs/sha256/$bad"
  (cd x && tar -cf ../bad.tar $(ls blobs/sha256/* | grep -v "$bad") "blobs/sha256/$bad" manifest.json)
  BOXKIT_STORE=$PWD/fresh bk_run 125 imgpack load -i bad.tar
  assert_regex "$stderr" "the entry blobs/sha256/$bad is not the blob its name and size say"
  assert_equal "$(ls -A fresh/blobs/sha256 | wc -l)" 0
  BOXKIT_STORE=$PWD/fresh bk_run 0 imgpack fsck --json
  echo "$output" | jq -e '.clean and .checked.blobs == 0 and .leftovers == []' >/dev/null
}

# ---- interop with umoci and skopeo ----------------------------------------

@test "interop: umoci unpacks an imgpack image to the same tree" {
  require_cmd umoci
  bk_run 0 umoci raw unpack --image "$BOXKIT_STORE:docker.io/bats/base:1" by-umoci
  imgpack unpack bats/base:1 by-imgpack
  assert_equal "$(tree_digest by-umoci)" "$(tree_digest by-imgpack)"
  bk_run 0 skopeo inspect "oci:$BOXKIT_STORE:docker.io/bats/base:1"
}

@test "interop: imgpack unpacks an umoci-built image (with whiteouts) to umoci's tree" {
  require_cmd umoci
  umoci init --layout u
  umoci new --image u:docker.io/bats/umoci:1
  umoci unpack --image u:docker.io/bats/umoci:1 bundle >/dev/null
  cp -a "$ROOT/." bundle/rootfs/
  umoci repack --image u:docker.io/bats/umoci:1 bundle
  rm -rf bundle && umoci unpack --image u:docker.io/bats/umoci:1 bundle >/dev/null
  rm bundle/rootfs/etc/marker && rm -r bundle/rootfs/etc/dir && echo two > bundle/rootfs/etc/two
  umoci repack --image u:docker.io/bats/umoci:2 bundle
  bk_run 0 umoci raw unpack --image u:docker.io/bats/umoci:2 by-umoci
  BOXKIT_STORE=$PWD/u bk_run 0 imgpack unpack bats/umoci:2 by-imgpack
  assert_equal "$(tree_digest by-imgpack)" "$(tree_digest by-umoci)"
  assert_file_not_exists by-imgpack/etc/marker
}

@test "interop: skopeo copies an image into the store and imgpack reads it" {
  require_cmd skopeo
  bk_run 0 skopeo copy "oci:$BOXKIT_STORE:docker.io/bats/base:1" "oci:$BOXKIT_STORE:docker.io/bats/copied:2"
  bk_run 0 imgpack ls --json
  echo "$output" | jq -e 'map(.reference) | index("docker.io/bats/copied:2")' >/dev/null
  bk_run 0 imgpack unpack bats/copied:2 out
  assert_equal "$(tree_digest out)" "$(tree_digest "$ROOT")"
}

# ---- bundles for runc and crun --------------------------------------------

run_runtime() { # RUNTIME BUNDLE NAME
  local rt=$1 b=$2 name=$3
  bk_run 0 "$rt" run -b "$b" "$name" && return 0
  # This machine mounts a cgroup2 hierarchy beside v1 (hybrid), which crun
  # refuses; in a private mount namespace without it crun runs as it should.
  if [[ $rt == crun && $stderr == *"hybrid mode not supported"* ]]; then
    bk_run 0 unshare -m sh -c "umount /sys/fs/cgroup/unified && crun run -b '$b' '$name'"
    return
  fi
  return 1
}

@test "bundle: runc and crun start it as it is" {
  require_root
  bk_run 0 imgpack bundle bats/base:1 b --json
  assert_equal "$(echo "$output" | jq -r '.args | join(" ")')" "/bin/sh -c echo hello from the image"
  jq -e '.process.env | index("GREETING=hi")' b/config.json >/dev/null
  assert_equal "$(tree_digest b/rootfs)" "$(tree_digest "$ROOT")"
  for rt in runc crun; do
    command -v $rt >/dev/null || { echo "# no $rt" >&3; continue; }
    run_runtime $rt "$PWD/b" "bats-imgpack-$rt-$$"
    assert_output "hello from the image"
    $rt delete -f "bats-imgpack-$rt-$$" 2>/dev/null || true
  done
  bk_run 125 imgpack bundle bats/base:1 b
}

# ---- hostile layers --------------------------------------------------------

# make_hostile CASE OUT.tar: a docker archive whose layers attack SENTINEL.
make_hostile() {
  python3 - "$1" "$2" "$PWD/sentinel" <<'PY'
import gzip, hashlib, io, json, sys, tarfile
case, out, sentinel = sys.argv[1:4]
def tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            kind, name = e[0], e[1]
            ti = tarfile.TarInfo(name)
            ti.mode = e[3] if len(e) > 3 else 0o644
            if kind == "f":
                data = e[2] if len(e) > 2 else b""
                ti.size = len(data); t.addfile(ti, io.BytesIO(data))
            else:
                ti.type = {"d": tarfile.DIRTYPE, "l": tarfile.SYMTYPE, "h": tarfile.LNKTYPE}[kind]
                if kind in "lh": ti.linkname = e[2]
                t.addfile(ti)
    return buf.getvalue()
S = sentinel
cases = {
  "dotdot":        [[("f", "../sentinel/secret", b"pwned"), ("f", "../../../../../" + S + "/new", b"x")]],
  "absolute":      [[("f", S + "/secret", b"pwned"), ("f", S + "/new", b"x")]],
  "link-parent":   [[("l", "evil", S)], [("f", "evil/secret", b"pwned"), ("d", "evil/dir", None, 0o777)]],
  "link-climb":    [[("l", "evil", "../../../../../../.." + S), ("f", "evil/new", b"x")]],
  "link-chain":    [[("l", "a", "b"), ("l", "b", "../sentinel"), ("f", "a/new", b"x")]],
  "hardlink-out":  [[("h", "h1", S + "/secret")]],
  "hardlink-climb":[[("h", "h2", "../sentinel/secret")]],
  "root-symlink":  [[("l", ".", S), ("f", "new", b"x")]],
  "root-symlink2": [[("l", "./", S), ("f", "new", b"x")]],
  "whiteout-link": [[("l", "evil", S)], [("f", "evil/.wh.secret"), ("f", "evil/.wh.dir")]],
  "opaque-link":   [[("l", "evil", S)], [("f", "evil/.wh..wh..opq")]],
  "chmod-link":    [[("l", "evil", S + "/secret"), ("l", "evild", S)], [("f", "evil", b"mine", 0o777), ("d", "evild", None, 0o777)]],
}
if case == "bomb":
    raw = tar([("f", "zeros", bytes(64 << 20))])
    blobs = [gzip.compress(raw, 9)]; diffs = [hashlib.sha256(raw).hexdigest()]
else:
    blobs = [tar(l) for l in cases[case]]; diffs = [hashlib.sha256(b).hexdigest() for b in blobs]
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/x"]},
                     "rootfs": {"type": "layers", "diff_ids": ["sha256:" + d for d in diffs]}}).encode()
files = {"blobs/sha256/" + hashlib.sha256(b).hexdigest(): b for b in blobs + [config]}
files["manifest.json"] = json.dumps([{"Config": "blobs/sha256/" + hashlib.sha256(config).hexdigest(),
    "RepoTags": ["bats/hostile:" + case], "Layers": ["blobs/sha256/" + hashlib.sha256(b).hexdigest() for b in blobs]}]).encode()
with tarfile.open(out, "w") as t:
    for name, data in files.items():
        ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
PY
}

make_sentinel() {
  mkdir -p sentinel/dir
  echo "keep me" > sentinel/secret; chmod 0600 sentinel/secret
  echo x > sentinel/dir/x
}

@test "hostile layers: nothing outside DEST is created, changed, chmodded or linked" {
  make_sentinel
  before=$(tree_digest sentinel)
  for c in dotdot absolute link-parent link-climb link-chain hardlink-out hardlink-climb root-symlink \
           root-symlink2 whiteout-link opaque-link chmod-link; do
    make_hostile "$c" "$c.tar"
    imgpack load -i "$c.tar" >/dev/null
    run timeout 30 imgpack unpack "bats/hostile:$c" "dest-$c"
    echo "# $c: exit $status" >&3
    [ "$status" -eq 0 ] || [ "$status" -eq 125 ]
    assert_equal "$(tree_digest sentinel)" "$before"
    assert_equal "$(stat -c %h sentinel/secret)" 1
    # the same through the layer cache
    run timeout 30 imgpack layers "bats/hostile:$c" --unpack
    [ "$status" -eq 0 ] || [ "$status" -eq 125 ]
    assert_equal "$(tree_digest sentinel)" "$before"
  done
}

@test "hostile layers: the refusals say why" {
  make_sentinel
  for c in root-symlink hardlink-out; do
    make_hostile "$c" "$c.tar"; imgpack load -i "$c.tar" >/dev/null
  done
  bk_run 125 imgpack unpack bats/hostile:root-symlink d1
  assert_regex "$stderr" 'replace the root itself with a symlink'
  assert_file_not_exists d1
  bk_run 125 imgpack unpack bats/hostile:hardlink-out d2
  assert_regex "$stderr" 'cannot unpack the hard link /h1 to /tmp/.*/sentinel/secret \(resolved inside d2\): '
}

@test "a decompression bomb stops at the budget, and leaves nothing behind" {
  make_sentinel
  make_hostile bomb bomb.tar
  imgpack load -i bomb.tar >/dev/null
  bk_run 125 imgpack unpack bats/hostile:bomb d --max-bytes 1000000
  assert_regex "$stderr" 'expands past the budget of 1000000 bytes'
  assert_file_not_exists d
  bk_run 125 imgpack layers bats/hostile:bomb --unpack --max-bytes 1000000
  assert_equal "$(ls -A "$BOXKIT_LAYERS")" ""
  bk_run 0 imgpack unpack bats/hostile:bomb d                # within the default budget
  assert_equal "$(stat -c %s d/zeros)" $((64 << 20))
}

@test "a damaged layer is refused as it streams: no DEST, no cached layer" {
  blob=$(blob_of bats/base:1 1)
  chmod u+w "$blob"
  printf 'XXXX' | dd of="$blob" bs=1 seek=5000 conv=notrunc 2>/dev/null
  bk_run 125 imgpack unpack bats/base:1 d
  assert_regex "$stderr" 'cannot (unpack|inflate|read) layer 1'
  assert_file_not_exists d
  bk_run 125 imgpack layers bats/base:1 --lowerdirs
  assert_equal "$(ls -A "$BOXKIT_LAYERS")" ""
}

@test "a config whose diff_id does not match its layer is refused" {
  cfg=$(imgpack inspect bats/base:1 --json | jq -r .id)
  man=$(imgpack inspect bats/base:1 --json | jq -r .manifest_digest)
  new_cfg=$(jq -c '.rootfs.diff_ids[0] = "sha256:'"$(printf '0%.0s' {1..64})"'"' "$BOXKIT_STORE/blobs/sha256/${cfg#sha256:}")
  printf '%s' "$new_cfg" > c.json
  c_hex=$(sha256sum c.json | cut -d' ' -f1); cp c.json "$BOXKIT_STORE/blobs/sha256/$c_hex"
  jq -c --arg d "sha256:$c_hex" --argjson s "$(stat -c %s c.json)" '.config.digest = $d | .config.size = $s' \
    "$BOXKIT_STORE/blobs/sha256/${man#sha256:}" > m.json
  m_hex=$(sha256sum m.json | cut -d' ' -f1); cp m.json "$BOXKIT_STORE/blobs/sha256/$m_hex"
  jq -c --arg d "sha256:$m_hex" --argjson s "$(stat -c %s m.json)" \
    '.manifests[0].digest = $d | .manifests[0].size = $s' "$BOXKIT_STORE/index.json" > i.json && mv i.json "$BOXKIT_STORE/index.json"
  bk_run 125 imgpack unpack bats/base:1 d
  assert_regex "$stderr" 'not the diff_id'
  assert_file_not_exists d
}

# ---- fsck ------------------------------------------------------------------

# fsck_kinds: the kinds of problem in $output (fsck --json), sorted.
fsck_kinds() { echo "$output" | jq -r '[.problems[].kind] | sort | join(",")'; }

@test "fsck: a built store is clean; each kind of damage exits 1 with one line each, and fsck changes nothing" {
  imgpack layers bats/base:1 --unpack >/dev/null
  bk_run 0 imgpack fsck
  assert_output --regexp '^checked 3 blobs \([0-9.]+[kM]B\), 1 tag, 1 cached layer: no problems$'
  assert_equal "$stderr" ""
  cp -a "$BOXKIT_STORE" pristine
  layer=$(blob_of bats/base:1 1)
  cfg=$(imgpack inspect bats/base:1 --json | jq -r .id)

  # one flipped byte in the layer
  flip_byte "$layer" 4242
  before=$(tree_digest "$BOXKIT_STORE")
  bk_run 1 imgpack fsck
  assert_regex "$stderr" "^imgpack: fsck: blob sha256:${layer##*/} does not match its name: its content is sha256:[0-9a-f]{64}"$'\n'
  assert_regex "$stderr" $'\n'"imgpack: fsck: tag bats/base:1: its layer 1 sha256:${layer##*/} is damaged"
  assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 2
  assert_output --partial ": 2 problems"
  assert_equal "$(tree_digest "$BOXKIT_STORE")" "$before"

  # a missing config
  rm -rf "$BOXKIT_STORE"; cp -a pristine "$BOXKIT_STORE"
  rm "$BOXKIT_STORE/blobs/sha256/${cfg#sha256:}"
  bk_run 1 imgpack fsck
  assert_equal "$stderr" "imgpack: fsck: tag bats/base:1: its config $cfg is missing"

  # a descriptor whose size is wrong
  rm -rf "$BOXKIT_STORE"; cp -a pristine "$BOXKIT_STORE"
  jq -c '.manifests[0].size += 1' pristine/index.json > "$BOXKIT_STORE/index.json"
  bk_run 1 imgpack fsck
  assert_regex "$stderr" '^imgpack: fsck: tag bats/base:1: its manifest sha256:[0-9a-f]{64} is [0-9]+ bytes, the descriptor says [0-9]+$'

  # a tag to a manifest that is not there (dangling)
  rm -rf "$BOXKIT_STORE"; cp -a pristine "$BOXKIT_STORE"
  jq -c '.manifests += [.manifests[0] | .digest = "sha256:'"$(printf 'e%.0s' {1..64})"'" | .annotations["org.opencontainers.image.ref.name"] = "docker.io/bats/dangling:1"]' \
    pristine/index.json > "$BOXKIT_STORE/index.json"
  bk_run 1 imgpack fsck
  assert_equal "$stderr" "imgpack: fsck: tag bats/dangling:1: its manifest sha256:$(printf 'e%.0s' {1..64}) is missing"

  # index.json that is not JSON
  rm -rf "$BOXKIT_STORE"; cp -a pristine "$BOXKIT_STORE"
  echo '{"schemaVersion": 2, "manifests": [' > "$BOXKIT_STORE/index.json"
  bk_run 1 imgpack fsck
  assert_equal "$stderr" "imgpack: fsck: index.json is not valid JSON"

  # the layer cache: a file where a layer's directory belongs
  rm -rf "$BOXKIT_STORE"; cp -a pristine "$BOXKIT_STORE"
  echo junk > "$BOXKIT_LAYERS/$(printf 'f%.0s' {1..64})"
  bk_run 1 imgpack fsck
  assert_regex "$stderr" "^imgpack: fsck: cached layer .*/f{64} is not a directory$"
  rm "$BOXKIT_LAYERS/$(printf 'f%.0s' {1..64})"
  bk_run 0 imgpack fsck -q
  assert_output ""
}

@test "fsck --json: one document jq reads; --explain narrates on stderr and leaves stdout clean" {
  bk_run 0 imgpack --explain fsck --json
  echo "$output" | jq -e '.clean == true and .problems == [] and .leftovers == [] and .checked.blobs == 3 and .checked.tags == 1' >/dev/null
  assert_equal "$(echo "$output" | jq -r .store)" "$BOXKIT_STORE"
  assert_regex "$stderr" "imgpack: explain: keep gc from removing blobs we are adding: flock\(\"$BOXKIT_STORE/blobs\", LOCK_SH\)"
  assert_regex "$stderr" 'imgpack: explain: read every byte of a blob to check that it matches its name: open\('
  refute_regex "$stderr" 'imgpack: fsck:'
  layer=$(blob_of bats/base:1 1)
  truncate -s 100 "$layer"
  bk_run 1 imgpack fsck --json
  assert_equal "$stderr" ""
  assert_equal "$(fsck_kinds)" "blob_digest,damaged"
  assert_equal "$(echo "$output" | jq -r '.problems[] | select(.kind == "blob_digest") | .subject')" "sha256:${layer##*/}"
  echo "$output" | jq -e '.clean == false' >/dev/null
}

@test "fsck: a loaded store and one skopeo copied into are clean" {
  imgpack save bats/base:1 -o base.tar
  BOXKIT_STORE=$PWD/loaded bk_run 0 imgpack load -i base.tar
  BOXKIT_STORE=$PWD/loaded bk_run 0 imgpack fsck --json
  echo "$output" | jq -e '.clean and .checked.tags == 1 and .unreferenced_blobs == 0' >/dev/null
  if command -v skopeo >/dev/null; then
    bk_run 0 skopeo copy "oci:$BOXKIT_STORE:docker.io/bats/base:1" "oci:$PWD/by-skopeo:docker.io/bats/copied:2"
    BOXKIT_STORE=$PWD/by-skopeo bk_run 0 imgpack fsck
    assert_output --partial "1 tag, 0 cached layers: no problems"
  fi
}

@test "fsck: 125 for no store or a directory that is not one; an empty store is clean" {
  bk_run 125 imgpack --store "$PWD/none" fsck
  assert_regex "$stderr" '^imgpack: cannot check the store .*/none: lstat\(".*/none"\): No such file or directory \(ENOENT\)'$'\n''imgpack: hint: '
  mkdir stranger && echo hi > stranger/notes
  bk_run 125 imgpack --store "$PWD/stranger" fsck
  assert_regex "$stderr" 'it is not an OCI image layout'
  mkdir empty
  bk_run 0 imgpack --store "$PWD/empty" fsck --json
  echo "$output" | jq -e '.clean and .notes[0].kind == "empty"' >/dev/null
}

@test "fsck: a killed writer's temporary files are listed (not damage), a live one's are noted; gc removes them" {
  sleep 0 & dead=$!; wait "$dead"
  echo '{"half": ' > "$BOXKIT_STORE/.index.json.tmp-$dead-0-0badf00d"
  head -c 5000 /dev/urandom > "$BOXKIT_STORE/blobs/sha256/.tmp-$dead-1-deadbeef"
  mkdir -p "$BOXKIT_LAYERS/.tmp-0123456789abcdef-$dead"
  echo busy > "$BOXKIT_STORE/blobs/sha256/.tmp-$$-2-12345678"   # this shell is alive
  bk_run 0 imgpack fsck
  assert_output --partial "no problems, 3 left-over temporary files"
  assert_regex "$stderr" "imgpack: fsck: left-over temporary file $BOXKIT_STORE/.index.json.tmp-$dead-0-0badf00d \(.*\) from pid $dead, which is gone; imgpack gc removes it"
  assert_regex "$stderr" "imgpack: fsck: note: .*/.tmp-$$-2-12345678 is a file being written by pid $$ \(still running\)"
  bk_run 0 imgpack fsck --json
  assert_equal "$(echo "$output" | jq -r '[.leftovers[].kind] | sort | join(",")')" "temporary_file,temporary_file,temporary_layer"
  bk_run 0 imgpack gc --json
  assert_equal "$(echo "$output" | jq .temporary_files_removed)" 1
  # (gc takes blobs/ exclusively, so no writer can be mid-blob: it removes every blob temp)
  bk_run 0 imgpack fsck --json
  echo "$output" | jq -e '.leftovers == [] and .notes == []' >/dev/null
}

@test "fsck takes the store's shared lock: it waits while gc holds blobs/, and never sees a build's half blob" {
  require_cmd flock
  flock -x "$BOXKIT_STORE/blobs" sleep 3 &
  holder=$!
  sleep 0.5
  bk_run 124 timeout 1 imgpack fsck     # blocked behind the exclusive lock
  wait "$holder"
  bk_run 0 imgpack fsck
  # builds beside fsck: every blob fsck sees is whole
  cp -a "$ROOT" big; head -c 20000000 /dev/urandom > big/blob
  ( for i in 1 2 3; do imgpack build big --tag "bats/busy:$i" --compress none >/dev/null || exit 1; done ) &
  builder=$!
  for _ in 1 2 3 4 5 6; do bk_run 0 imgpack fsck -q; done
  wait "$builder"
  bk_run 0 imgpack fsck -q
}
