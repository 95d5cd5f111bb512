#!/usr/bin/env bash
# regpull against skopeo and against the floor, side by side in one run:
# pulling a ~200 MB, 8-layer image from a loopback registry into an empty
# store. The floor is plain curl fetching the same blobs into files one
# after another, unchecked. Targets (issue 6): at least 1.5x faster than
# skopeo, within 1.3x of the curl floor, every digest checked.
#   BUILD=build bash bench/regpull.sh        (RUNS=N for more runs)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/${BUILD:-build}/bin
RUNS=${RUNS:-7}
for c in docker-registry skopeo curl python3 jq bc; do
  command -v $c >/dev/null || { echo "bench/regpull.sh: needs $c" >&2; exit 1; }
done
[ -x "$BIN/regpull" ] || { echo "bench/regpull.sh: build regpull first ($BIN/regpull)" >&2; exit 1; }
. tests/regpull/registry.bash

T=$(mktemp -d /var/tmp/boxkit-bench-regpull.XXXXXX)
cleanup() { registry_stop "$T/reg"; rm -rf "$T"; }
trap cleanup EXIT
PORT=$(free_port)
registry_start "$T/reg" "$PORT"
python3 tests/regpull/mkimage.py "$T/img" 1 --layers 8 --layer-kib 25600 --seed 7 >/dev/null
skopeo copy -q --dest-tls-verify=false "oci:$T/img:1" "docker://127.0.0.1:$PORT/bench/big:1"
URL=http://127.0.0.1:$PORT/v2/bench/big
ACCEPT='application/vnd.oci.image.manifest.v1+json'
curl -sf -H "Accept: $ACCEPT" "$URL/manifests/1" > "$T/manifest.json"
BLOBS=$(jq -r '.config.digest, .layers[].digest' "$T/manifest.json" | tr '\n' ' ')
SIZE=$(jq '[.config.size, .layers[].size] | add' "$T/manifest.json")
# The floor: what any client must do at least (manifest, then each blob once).
cat > "$T/floor.sh" <<FLOOR
curl -sf -H "Accept: $ACCEPT" -o $T/floor/manifest $URL/manifests/1
for d in $BLOBS; do curl -sf -o $T/floor/\$d $URL/blobs/\$d; done
FLOOR

# A timed loop rather than hyperfine: hyperfine runs all of one command's
# runs before the next command's, and on this shared, noisy machine the
# load moves between those blocks. Here each round runs the three commands
# back to back (in a rotating order), and only the command is timed.
echo "regpull bench: $(( SIZE / 1000000 )) MB in 8 layers from 127.0.0.1:$PORT, $RUNS alternating rounds (+1 warm-up)"
names=(regpull skopeo curl-floor)
run_one() {
  case $1 in
    regpull)    rm -rf "$T/store"; sync
                t0=$(date +%s.%N); BOXKIT_STORE=$T/store "$BIN/regpull" -q "127.0.0.1:$PORT/bench/big:1" >/dev/null ;;
    skopeo)     rm -rf "$T/sk"; sync
                t0=$(date +%s.%N); skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$PORT/bench/big:1" "oci:$T/sk:1" ;;
    curl-floor) rm -rf "$T/floor"; mkdir "$T/floor"; sync
                t0=$(date +%s.%N); bash "$T/floor.sh" ;;
  esac
  t1=$(date +%s.%N)
  echo "$1 $(echo "$t1 - $t0" | bc)" >> "$T/times"
}
: > "$T/times"
for round in $(seq 0 "$RUNS"); do
  for i in 0 1 2; do run_one "${names[$(( (round + i) % 3 ))]}"; done
  [ "$round" -eq 0 ] && : > "$T/times"   # round 0 warms the caches
done
for n in "${names[@]}"; do
  printf '  %-10s' "$n"; awk -v n="$n" '$1 == n {printf " %.3f", $2}' "$T/times"; echo " s"
done

# Every blob regpull stored is checked once more here, outside the timing.
for d in $BLOBS; do
  got=sha256:$(sha256sum "$T/store/blobs/sha256/${d#sha256:}" | cut -d' ' -f1)
  [ "$got" = "$d" ] || { echo "bench/regpull.sh: $d stored with the wrong content" >&2; exit 1; }
done

med() { awk -v n="$1" '$1 == n {print $2}' "$T/times" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
R=$(med regpull) S=$(med skopeo) F=$(med curl-floor)
awk -v r="$R" -v s="$S" -v f="$F" -v mb="$SIZE" 'BEGIN {
  printf "\nmedians: regpull %.3f s (%.0f MB/s), skopeo %.3f s, curl floor %.3f s\n", r, mb/1e6/r, s, f
  printf "skopeo / regpull = %.2fx  (target >= 1.5x): %s\n", s/r, (s/r >= 1.5 ? "met" : "NOT met")
  printf "regpull / floor  = %.2fx  (target <= 1.3x): %s\n", r/f, (r/f <= 1.3 ? "met" : "NOT met")
}'
