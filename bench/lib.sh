# Shared by bench/*.sh: side-by-side timing with hyperfine.
#
#   bench_compare LABEL TARGET_RATIO NAME_A CMD_A NAME_B CMD_B
#
# Runs ROUNDS (default 5) rounds of hyperfine over both commands, swapping
# their order each round (these machines are noisy: a lone absolute time
# means little; see ../shared/BENCH-NOTES.md), then prints the median of each
# command's per-round medians and the ratio A/B, and whether A/B <= TARGET.
# Extra hyperfine flags: BENCH_FLAGS (default "-N --warmup 20 --runs 200").

BUILD=${BUILD:-build}
BIN=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/$BUILD/bin
ROUNDS=${ROUNDS:-5}
BENCH_FLAGS=${BENCH_FLAGS:--N --warmup 20 --runs 200}

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

bench_compare() {
  local label=$1 target=$2 name_a=$3 cmd_a=$4 name_b=$5 cmd_b=$6
  local tmp round json a_meds=() b_meds=()
  tmp=$(mktemp -d)
  echo "== $label"
  for round in $(seq 1 "$ROUNDS"); do
    json=$tmp/$round.json
    # shellcheck disable=SC2086
    if (( round % 2 )); then
      hyperfine $BENCH_FLAGS --style none --export-json "$json" -n "$name_a" "$cmd_a" -n "$name_b" "$cmd_b" >/dev/null
    else
      hyperfine $BENCH_FLAGS --style none --export-json "$json" -n "$name_b" "$cmd_b" -n "$name_a" "$cmd_a" >/dev/null
    fi
    a_meds+=("$(jq -r --arg n "$name_a" '.results[] | select(.command == $n) | .median' "$json")")
    b_meds+=("$(jq -r --arg n "$name_b" '.results[] | select(.command == $n) | .median' "$json")")
    printf '  round %d: %-28s %8.3f ms   %-28s %8.3f ms\n' "$round" "$name_a" \
      "$(echo "${a_meds[-1]} * 1000" | bc -l)" "$name_b" "$(echo "${b_meds[-1]} * 1000" | bc -l)"
  done
  local a b ratio verdict
  a=$(printf '%s\n' "${a_meds[@]}" | median)
  b=$(printf '%s\n' "${b_meds[@]}" | median)
  ratio=$(echo "$a / $b" | bc -l)
  if (( $(echo "$ratio <= $target" | bc -l) )); then verdict="target met"; else verdict="target NOT met"; fi
  printf '  median: %s %.3f ms, %s %.3f ms\n' "$name_a" "$(echo "$a * 1000" | bc -l)" "$name_b" "$(echo "$b * 1000" | bc -l)"
  printf '  ratio %s / %s = %.3f (target <= %s): %s\n' "$name_a" "$name_b" "$ratio" "$target" "$verdict"
  rm -rf "$tmp"
}
