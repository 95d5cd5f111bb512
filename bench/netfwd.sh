#!/usr/bin/env bash
# netfwd against the real peers, side by side in one run (BENCH-NOTES.md):
#   throughput: iperf3 server in a box (its own network namespace), client on
#     the host through netfwd's proxy, through socat doing the same forward
#     (socat on the host, into the box over a veth: socat cannot open a socket
#     in another namespace), and directly inside the box (the limit);
#   connection rate: busybox httpd in the box, a client opening a new
#     connection per request, the same three ways: one client, as the issue
#     measured it, and CONCURRENCY clients at once (both cores busy).
# netfwd --mode nat (kernel DNAT, no process in the path) is shown for
# comparison, and so is bench/floor-relay.c, the least a userspace relay can
# do per connection (the connection rate's floor for any proxy; built here
# with cc). Rounds alternate the contenders; medians and ratios are printed.
# Targets (issue 7): netfwd >= 3x socat and >= 80% of direct, for both.
# "direct / socat" is how far past socat a relay that cost nothing would get.
#
# nat is measured against a second box, with servers and a link of its own.
# Its connections reach the box from the link's host address, like socat's,
# and the TIME_WAIT sockets they leave in the box turn away socat's new
# connections that reuse a port (the box counts PAWS rejections): socat's
# rate fell by a quarter to a half after a nat round when both used one box.
#
# netfwd's proxy starts the way socat does, in this script's session. A
# --detach'ed netfwd is a session of its own (setsid), and with scheduler
# autogroups on (sched(7)) that is a scheduling group of its own, which
# changes how the relay is woken, not the relay: it is measured too, on its
# own line, for comparison.
#
#   BUILD=build bash bench/netfwd.sh        ROUNDS=5 SECONDS_PER_RUN=3 REQUESTS=2000 CONCURRENCY=4
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/${BUILD:-build}/bin
ROUNDS=${ROUNDS:-3}
SECS=${SECONDS_PER_RUN:-3}
REQUESTS=${REQUESTS:-2000}
CONCURRENCY=${CONCURRENCY:-4}

[ "$(id -u)" -eq 0 ] || { echo "bench/netfwd.sh: needs root (namespaces, veth, nftables)"; exit 0; }
for cmd in iperf3 socat busybox python3 jq nft; do
  command -v "$cmd" >/dev/null || { echo "bench/netfwd.sh: needs $cmd; skipped"; exit 0; }
done
[ -x "$BIN/netfwd" ] || { echo "bench/netfwd.sh: build netfwd first ($BIN/netfwd)"; exit 1; }

work=$(mktemp -d /tmp/boxkit-bench-netfwd.XXXXXX)
export BOXKIT_RUN=$work/run/boxes
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  local p
  while :; do p=$((10000 + RANDOM % 22000)); [ -z "$(ss -Htuan "sport = :$p")" ] && { echo "$p"; return; }; done
}

# A box: its own network namespace and a link to the host, iperf3 and httpd
# on every address in it (loopback for netfwd's proxy and the direct runs,
# the link for socat and nat). Sets BOX (its pid) and BOX_ADDR.
mkdir -p "$work/www"; echo ok > "$work/www/index.html"
host_ns=$(stat -L -c %i /proc/self/ns/net)
in_ns() { local pid=$1; shift; nsenter --net="/proc/$pid/ns/net" "$@"; }   # PID CMD...
new_box() {
  unshare --net sh -c 'ip link set lo up; exec sleep 1d' </dev/null >/dev/null 2>&1 &
  BOX=$!; pids+=("$BOX")
  while [ "$(stat -L -c %i "/proc/$BOX/ns/net")" = "$host_ns" ]; do sleep 0.02; done
  BOX_ADDR=$("$BIN/netfwd" link --pid "$BOX" --json | jq -r .box_address)
  # (nsenter itself, not a shell function: $! must be the server's own pid)
  nsenter --net="/proc/$BOX/ns/net" iperf3 -s -p 5201 </dev/null >/dev/null 2>&1 & pids+=($!)
  nsenter --net="/proc/$BOX/ns/net" busybox httpd -f -p 8080 -h "$work/www" </dev/null >/dev/null 2>&1 & pids+=($!)
  for _ in $(seq 100); do
    [ -n "$(in_ns "$BOX" ss -Htln 'sport = :5201')" ] && [ -n "$(in_ns "$BOX" ss -Htln 'sport = :8080')" ] && break
    sleep 0.05
  done
}
new_box; box=$BOX; addr=$BOX_ADDR
new_box; natbox=$BOX
inbox() { in_ns "$box" "$@"; }

nf_t=$(free_port); nf_h=$(free_port); so_t=$(free_port); so_h=$(free_port); nat_t=$(free_port); nat_h=$(free_port)
nd_t=$(free_port); nd_h=$(free_port)
"$BIN/netfwd" publish "$nf_t:5201" "$nf_h:8080" --pid "$box" </dev/null >/dev/null 2>&1 & pids+=($!)
"$BIN/netfwd" publish "$nd_t:5201" "$nd_h:8080" --pid "$box" --detach --pid-file "$work/proxy.pid"
pids+=("$(cat "$work/proxy.pid")")
fl_h=''
if command -v "${CC:-cc}" >/dev/null && "${CC:-cc}" -O2 -o "$work/floor-relay" bench/floor-relay.c; then
  fl_h=$(free_port)
  "$work/floor-relay" "$fl_h" "/proc/$box/ns/net" 8080 </dev/null >/dev/null 2>&1 & pids+=($!)
fi
socat "TCP-LISTEN:$so_t,bind=127.0.0.1,reuseaddr,fork" "TCP:$addr:5201" </dev/null >/dev/null 2>&1 & pids+=($!)
socat "TCP-LISTEN:$so_h,bind=127.0.0.1,reuseaddr,fork" "TCP:$addr:8080" </dev/null >/dev/null 2>&1 & pids+=($!)
for _ in $(seq 100); do [ -n "$(ss -Htln "sport = :$nf_h")" ] && [ -n "$(ss -Htln "sport = :$so_h")" ] && break; sleep 0.05; done
sleep 0.3

# A new connection per request: connect, GET, read to the end, close;
# C clients at once (like ab -c), each one request after another.
cat > "$work/rate.py" <<'PY'
import os, socket, sys, time
port, n, c = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
req = b"GET /index.html HTTP/1.0\r\n\r\n"
start = time.perf_counter()
kids = []
for _ in range(c):
    pid = os.fork()
    if pid == 0:
        for _ in range(n // c):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(req)
            while s.recv(65536):
                pass
            s.close()
        os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
print(n // c * c / (time.perf_counter() - start))
PY

gbits() { # PORT [nsenter...]: one iperf3 run, Gbit/s received
  local port=$1; shift
  "$@" iperf3 -c 127.0.0.1 -p "$port" -t "$SECS" -J | jq '.end.sum_received.bits_per_second / 1e9'
}
# rate PORT [nsenter...]: one client, then CONCURRENCY at once: "R1 RC"
rate() {
  local port=$1; shift
  echo "$("$@" python3 "$work/rate.py" "$port" "$REQUESTS" 1) $("$@" python3 "$work/rate.py" "$port" "$REQUESTS" "$CONCURRENCY")"
}

g2() { if [ "$1" = - ]; then echo -; else printf '%.2f' "$1"; fi; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -A T R1 RC
names=(netfwd socat direct nat detached)
[ -z "$fl_h" ] || names+=(floor)
for round in $(seq "$ROUNDS"); do
  # Rotate the order each round, so no contender always runs first.
  k=$((round % ${#names[@]}))
  order=("${names[@]:$k}" "${names[@]:0:$k}")
  for who in "${order[@]}"; do
    case $who in
      netfwd) t=$(gbits "$nf_t"); r=$(rate "$nf_h") ;;
      detached) t=$(gbits "$nd_t"); r=$(rate "$nd_h") ;;
      floor)  t=-; r=$(rate "$fl_h") ;;   # (connections only: it copies, it does not splice)
      socat)  t=$(gbits "$so_t"); r=$(rate "$so_h") ;;
      direct) t=$(gbits 5201 inbox); r=$(rate 8080 inbox) ;;
      nat)    # Only while measured: a loaded nat table turns on conntrack for
              # every packet of the host's namespace, which would slow the others.
              "$BIN/netfwd" publish "$nat_t:5201" "$nat_h:8080" --pid "$natbox" --mode nat --detach --pid-file "$work/nat.pid"
              t=$(gbits "$nat_t"); r=$(rate "$nat_h")
              nat_pid=$(cat "$work/nat.pid"); kill "$nat_pid"
              while kill -0 "$nat_pid" 2>/dev/null; do sleep 0.05; done ;;
    esac
    read -r r1 rc <<<"$r"
    T[$who]+="$t "; R1[$who]+="$r1 "; RC[$who]+="$rc "
    printf '  round %d %-8s %6s Gbit/s %7.0f conn/s (1 client) %7.0f conn/s (%d)\n' \
      "$round" "$who" "$(g2 "$t")" "$r1" "$rc" "$CONCURRENCY"
  done
done

med() { tr ' ' '\n' <<<"$1" | grep . | median; }
echo
echo "netfwd bench: $ROUNDS rounds, iperf3 -t $SECS (one stream), $REQUESTS requests a run" \
     "by 1 and by $CONCURRENCY clients (medians)"
printf '  %-40s %8s %10s %10s\n' "" "Gbit/s" "conn/s" "conn/s" "" "" "1 client" "$CONCURRENCY clients"
for who in "${names[@]}"; do
  case $who in
    netfwd) label="netfwd publish (proxy)" ;;
    detached) label="netfwd publish --detach (own session)" ;;
    socat)  label="socat TCP-LISTEN,fork -> box over veth" ;;
    direct) label="direct, inside the box (the limit)" ;;
    nat)    label="netfwd publish --mode nat (DNAT)" ;;
    floor)  label="floor relay (bench/floor-relay.c)" ;;
  esac
  t=-; [ "$who" = floor ] || t=$(med "${T[$who]}")
  r1=$(med "${R1[$who]}"); rc=$(med "${RC[$who]}")
  printf '  %-40s %8s %10.0f %10.0f\n' "$label" "$(g2 "$t")" "$r1" "$rc"
  echo "$who $t $r1 $rc" >> "$work/medians"
done
python3 - "$work/medians" "$CONCURRENCY" <<'PY'
import sys
m = {}
for line in open(sys.argv[1]):
    who, t, r1, rc = line.split()
    m[who] = {"t": None if t == "-" else float(t), 1: float(r1), "c": float(rc)}
c = sys.argv[2]
def line(what, x, y, want):
    ok = x / y >= want
    print("  %-46s %6.3fx  (target >= %s)  %s" % (what, x / y, ("%.0f%%" % (want * 100)) if want < 1 else "%gx" % want,
                                                 "met" if ok else "NOT met"))
    return ok
n, s, d = m["netfwd"], m["socat"], m["direct"]
print()
ok = [line("throughput: netfwd / socat", n["t"], s["t"], 3), line("throughput: netfwd / direct", n["t"], d["t"], 0.8)]
for k, who in ((1, "1 client"), ("c", c + " clients")):
    ok += [line("connections/s, %s: netfwd / socat" % who, n[k], s[k], 3),
           line("connections/s, %s: netfwd / direct" % who, n[k], d[k], 0.8)]
print("  targets:", "all met" if all(ok) else "not all met")
print("  (a relay that cost nothing, direct / socat: connections/s %.3fx with 1 client, %.3fx with %s)"
      % (d[1] / s[1], d["c"] / s["c"], c))
x = m["detached"]
print("  (--detach: throughput %.2fx socat, %.3fx direct; connections/s %.3fx and %.3fx direct)"
      % (x["t"] / s["t"], x["t"] / d["t"], x[1] / d[1], x["c"] / d["c"]))
if "floor" in m:
    f = m["floor"]
    print("  (floor relay: connections/s %.3fx and %.3fx direct; netfwd is %.3fx and %.3fx the floor)"
          % (f[1] / d[1], f["c"] / d["c"], n[1] / f[1], n["c"] / f["c"]))
PY
