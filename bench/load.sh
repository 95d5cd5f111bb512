#!/usr/bin/env bash
# The load tests of issue 10 as figures: tests/bats/load.bats (16 boxes in
# parallel 100 times, 8 concurrent pulls, 10,000 checksummed connections
# through netfwd) run once with timing, and each turned into a rate (each
# test's own setup included, so a lower bound). They are
# pass/fail tests in `make test`; here only their speed is reported (there
# is no peer to compare with, so no ratio and no target).
#   BUILD=build bash bench/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/${BUILD:-build}/bin
[ "$(id -u)" -eq 0 ] || { echo "bench/load.sh: needs root (namespaces, cgroups)"; exit 0; }
command -v bats >/dev/null || { echo "bench/load.sh: needs bats"; exit 0; }
[ -x "$BIN/nsjail-lite" ] || { echo "bench/load.sh: build first ($BIN)"; exit 1; }

out=$(BOXKIT_BIN=$BIN bats --tap --timing tests/bats/load.bats 2>&1) || { echo "$out"; exit 1; }
echo "== load (tests/bats/load.bats, one run; load average $(cut -d' ' -f1-3 /proc/loadavg))"
# "ok 1 load: ... in 12345ms"
while IFS= read -r line; do
  [[ $line =~ ^ok\ [0-9]+\ (.*)\ in\ ([0-9]+)ms$ ]] || continue
  name=${BASH_REMATCH[1]} ms=${BASH_REMATCH[2]}
  case $name in
    *"16 named boxes"*) rate=$(awk -v ms="$ms" 'BEGIN { printf "%.0f boxes/s", 1600 / (ms / 1000) }') ;;
    *"concurrent pulls"*) rate="8 pulls" ;;
    *"10,000"*) rate=$(awk -v ms="$ms" 'BEGIN { printf "%.0f connections/s", 10000 / (ms / 1000) }') ;;
    *) rate="" ;;
  esac
  printf '%-100s %8.1f s  %s\n' "${name:0:100}" "$(awk -v ms="$ms" 'BEGIN { print ms / 1000 }')" "$rate"
done <<<"$out"
