#!/usr/bin/env bats
# netfwd: publishing ports into a box and linking a box to the host. Runs as
# root. Traffic goes only over loopback and into namespaces these tests make
# (each with a unique name, removed after); ports are picked free at random.

load helpers

setup_file() {
  # Servers and clients these tests run inside boxes.
  cat > "$BATS_FILE_TMPDIR/echo_server.py" <<'EOF'
import asyncio, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
async def echo(r, w):
    while data := await r.read(65536):
        w.write(data); await w.drain()
    w.close()
async def main():
    s = await asyncio.start_server(echo, "127.0.0.1", int(sys.argv[1]), backlog=2048)
    await s.serve_forever()
asyncio.run(main())
EOF
  # N connections open at once, each says its number and hears it back.
  cat > "$BATS_FILE_TMPDIR/many_clients.py" <<'EOF'
import resource, socket, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(b"%06d" % i)
    socks.append(s)
good = 0
for i, s in enumerate(socks):
    got = b""
    while len(got) < 6:
        chunk = s.recv(6 - len(got))
        if not chunk: break
        got += chunk
    good += got == b"%06d" % i
print(good)
for s in socks: s.close()
EOF
  cat > "$BATS_FILE_TMPDIR/udp_echo.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(65536)
    s.sendto(b"echo:" + data, peer)
EOF
}

setup() {
  require_root
  require_cmd ip
  cd "$BATS_TEST_TMPDIR"
  export BOXKIT_RUN=$BATS_TEST_TMPDIR/run/boxes
  : > "$BATS_TEST_TMPDIR/pids"
  : > "$BATS_TEST_TMPDIR/netns"
}

teardown() {
  local pid ns
  while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$BATS_TEST_TMPDIR/pids"
  for pid in $(cat "$BATS_TEST_TMPDIR/pids"); do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  while read -r ns; do ip netns del "$ns" 2>/dev/null || true; done < "$BATS_TEST_TMPDIR/netns"
}

# A port nothing on the host uses for TCP or UDP, below the ephemeral range
# (32768-60999) that outgoing connections take their source ports from.
free_port() {
  local p
  while :; do
    p=$((10000 + RANDOM % 22000))
    [ -z "$(ss -Htuan "sport = :$p")" ] && { echo "$p"; return; }
  done
}

# start_box CMD...: a process in a new network namespace with loopback up;
# sets BOXPID. The namespace goes when the process does.
start_box() {
  unshare --net sh -c 'ip link set lo up; exec "$@"' sh "$@" </dev/null >/dev/null 2>&1 3>&- &
  BOXPID=$!
  echo "$BOXPID" >> "$BATS_TEST_TMPDIR/pids"
  # Until unshare has run, the pid is still in the host's namespace.
  local host
  host=$(stat -L -c %i /proc/self/ns/net)
  for _ in $(seq 100); do
    [ "$(stat -L -c %i "/proc/$BOXPID/ns/net" 2>/dev/null)" != "$host" ] && return 0
    sleep 0.02
  done
  echo "pid $BOXPID never got its own network namespace" >&2
  return 1
}

# wait_listen PID PORT [tcp|udp]: until something in PID's namespace listens there.
wait_listen() {
  local flag=-Htln
  [ "${3:-tcp}" = udp ] && flag=-Huln
  for _ in $(seq 100); do
    [ -n "$(nsenter --net=/proc/$1/ns/net ss $flag "sport = :$2" 2>/dev/null)" ] && return 0
    sleep 0.05
  done
  echo "nothing listens on $2 in pid $1's namespace" >&2
  return 1
}

# publish ARGS...: netfwd publish ARGS --detach; sets NFPID.
publish() {
  bk_run 0 netfwd publish "$@" --detach --pid-file "$BATS_TEST_TMPDIR/fwd.pid"
  NFPID=$(cat "$BATS_TEST_TMPDIR/fwd.pid")
  echo "$NFPID" >> "$BATS_TEST_TMPDIR/pids"
}

wait_gone() {
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
  echo "pid $1 is still there" >&2
  return 1
}

fd_count() { ls "/proc/$1/fd" | wc -l; }

# ---- the contract: exit codes, messages, help ---------------------------

@test "exit codes: help 0, version 0, bad flag 125, bad specs and targets 125" {
  start_box sleep 60
  echo hi > plain
  while read -r want args; do
    # shellcheck disable=SC2086
    bk_run "$want" netfwd $args
  done <<EOT
0   --help
0   --version
0   publish --help
0   ls
125
125 --no-such-flag
125 publish 8080:80
125 publish --pid $BOXPID
125 publish 8080 --pid $BOXPID
125 publish 8080:80/sctp --pid $BOXPID
125 publish 0:80 --pid $BOXPID
125 publish 8080:80 --pid $BOXPID --netns /proc/$BOXPID/ns/net
125 publish 8080:80 --pid $BOXPID --mode bridge
125 publish 8080:80 8080:81 --pid $BOXPID
125 publish 8080:80 --pid $BOXPID --pid-file x
125 publish 8080:80 --pid 999999999
125 publish 8080:80 --pid $$
125 publish 8080:80 --netns plain
125 publish 8080:80 --netns /proc/$BOXPID/ns/mnt
125 publish 8080:80 --netns missing
125 publish 8080:80 --box no-such-box
125 link --netns /proc/$BOXPID/ns/net
125 link --pid $BOXPID --subnet 10.9.0.5/24
125 link --pid $BOXPID --subnet 10.9.0.0/31
125 unlink --pid $BOXPID
125 publish 8080:80 --pid $BOXPID -- echo
EOT
}

@test "errors have the one shape, with a hint" {
  bk_run 125 netfwd publish 8080:80 --pid 999999999
  assert_equal "$output" ""
  assert_regex "$stderr" '^netfwd: cannot watch the box.s pid 1, to stop when the box ends: pidfd_open\(999999999, 0\): No such process \(ESRCH\)'
  assert_regex "$stderr" 'netfwd: hint: no process has pid 999999999'
  bk_run 125 netfwd publish 8080:80/sctp --pid 1
  assert_regex "$stderr" '^netfwd: cannot understand the port spec 8080:80/sctp'$'\n''netfwd: hint: the protocol is tcp or udp'
  bk_run 125 netfwd publish 8080:80 --pid $$
  assert_regex "$stderr" "cannot publish into pid $$: it shares the host's network namespace"
  bk_run 125 netfwd --bogus
  assert_regex "$stderr" "^netfwd: cannot understand the command line: .*"$'\n'"netfwd: hint: see 'netfwd --help'"
}

@test "--help says the default bind is 127.0.0.1, names the lesson; --version" {
  bk_run 0 netfwd --help
  assert_output --partial "Usage: netfwd"
  assert_output --partial "HOST_IP defaults to"
  assert_output --partial "127.0.0.1"
  assert_output --partial "Lesson: lessons/07-ports-and-volumes"
  bk_run 0 netfwd publish --help
  assert_output --partial "never every interface unless you say 0.0.0.0"
  bk_run 0 netfwd --version
  assert_output --regexp '^netfwd [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "a port already taken on the host: 125 with a hint, nothing left behind" {
  start_box sleep 60
  port=$(free_port)
  publish "$port:80" --pid "$BOXPID"
  bk_run 125 netfwd publish "$port:80" --pid "$BOXPID"
  assert_regex "$stderr" "cannot take the host port 127.0.0.1:$port/tcp: bind\(.*Address already in use \(EADDRINUSE\)"
  assert_regex "$stderr" "hint: something on the host already listens there"
  bk_run 0 netfwd ls --json
  assert_equal "$(echo "$output" | jq '.published | length')" 1
}

@test "hostile input: bad arguments leave a sentinel directory byte-for-byte the same" {
  start_box sleep 60
  mkdir sentinel; echo keep > sentinel/file; ln -s /etc/passwd sentinel/link; mkfifo sentinel/fifo
  before=$(tree_digest sentinel)
  for args in "publish 8080:80 --netns sentinel/file" "publish 8080:80 --netns sentinel/link" \
              "publish 8080:80 --netns sentinel/fifo" "publish 8080:80 --netns sentinel" \
              "publish 1.2.3.4;rm:8080:80 --pid $BOXPID" "publish 8080:80 --pid $BOXPID --pid-file sentinel/file" \
              "link --pid $BOXPID --subnet sentinel/file" "publish ../../sentinel:80 --pid $BOXPID"; do
    # shellcheck disable=SC2086
    bk_run 125 netfwd $args
  done
  assert_equal "$(tree_digest sentinel)" "$before"
}

@test "--explain narrates on stderr and leaves stdout clean" {
  start_box sleep 60
  port=$(free_port)
  bk_run 0 netfwd --explain publish "$port:80" --pid "$BOXPID" --detach --pid-file fwd.pid
  echo "$(cat fwd.pid)" >> "$BATS_TEST_TMPDIR/pids"
  assert_equal "$output" ""
  assert_regex "$stderr" "netfwd: explain: take the host port 127.0.0.1:$port/tcp: bind\([0-9]+, 127.0.0.1:$port\)"
  assert_regex "$stderr" "netfwd: explain: move into the box's network namespace, so backend sockets are made there: setns\("
  bk_run 0 netfwd --explain ls --json
  echo "$output" | jq -e '.published[0].ports[0].spec' >/dev/null
}

# ---- proxy mode -----------------------------------------------------------

@test "proxy: the default bind is 127.0.0.1; 0.0.0.0 only when asked" {
  start_box sleep 60
  p1=$(free_port); p2=$(free_port)
  publish "$p1:80" "0.0.0.0:$p2:81" --pid "$BOXPID"
  assert_equal "$(ss -Htln "sport = :$p1" | awk '{print $4}')" "127.0.0.1:$p1"
  assert_equal "$(ss -Htln "sport = :$p2" | awk '{print $4}')" "0.0.0.0:$p2"
  bk_run 0 netfwd ls
  assert_output --partial "127.0.0.1:$p1:80/tcp"
  assert_output --partial "0.0.0.0:$p2:81/tcp"
}

@test "proxy: reaches a service that listens only on the box's loopback" {
  mkdir www; echo "from inside" > www/index.html
  start_box busybox httpd -f -p 127.0.0.1:8080 -h "$PWD/www"
  wait_listen "$BOXPID" 8080
  port=$(free_port)
  publish "$port:8080" --pid "$BOXPID"
  bk_run 0 curl -sS --max-time 5 "http://127.0.0.1:$port/index.html"
  assert_output "from inside"
  # The host itself cannot reach that port: it is the box's loopback, not ours.
  bk_run 7 curl -sS --max-time 5 "http://127.0.0.1:8080/index.html"
}

@test "proxy: data integrity both ways, 1 byte to 100 MB, with checksums" {
  require_cmd socat
  start_box socat TCP-LISTEN:7000,reuseaddr,fork EXEC:cat
  wait_listen "$BOXPID" 7000
  port=$(free_port)
  publish "$port:7000" --pid "$BOXPID"
  for size in 1 1000 65537 1048577 104857600; do
    head -c "$size" /dev/urandom > in.bin
    socat -t 60 -T 60 - "TCP:127.0.0.1:$port" < in.bin > out.bin
    assert_equal "$(stat -c %s out.bin)" "$size"
    assert_equal "$(sha256sum < out.bin)" "$(sha256sum < in.bin)"
  done
  rm -f in.bin out.bin
}

@test "proxy: small writes to a box server that reads late arrive whole and in order" {
  require_cmd python3
  # Short messages are copied through a small buffer; when the box's side is
  # full, what did not fit waits in a pipe. The server reads nothing for two
  # seconds (7 MB fill its small window and netfwd's send buffer), then
  # everything; the checksums must agree.
  cat > late_reader.py <<'EOF'
import hashlib, socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
c, _ = s.accept(); time.sleep(2)
h = hashlib.sha256()
while data := c.recv(65536): h.update(data)
c.sendall(h.hexdigest().encode()); c.close()
EOF
  start_box python3 late_reader.py 7009
  wait_listen "$BOXPID" 7009
  port=$(free_port)
  publish "$port:7009" --pid "$BOXPID"
  bk_run 0 python3 - "$port" <<'EOF'
import hashlib, os, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
h = hashlib.sha256()
for i in range(2000):
    chunk = os.urandom(3000 + i % 1000)  # below the 4 KiB that makes a stream
    h.update(chunk); s.sendall(chunk)
    time.sleep(0.0002)
s.shutdown(socket.SHUT_WR)
got = b""
while data := s.recv(100): got += data
print("same" if got.decode() == h.hexdigest() else "differ: " + got.decode())
EOF
  assert_output "same"
}

@test "proxy: half-close passes the client's FIN on and the reply still comes back" {
  require_cmd socat
  # wc -c answers only after end of input: the FIN must reach the box while
  # the way back stays open.
  start_box socat TCP-LISTEN:7001,reuseaddr,fork SYSTEM:'wc -c'
  wait_listen "$BOXPID" 7001
  port=$(free_port)
  publish "$port:7001" --pid "$BOXPID"
  bk_run 0 sh -c "printf 'twelve bytes' | socat -t 10 - TCP:127.0.0.1:$port"
  assert_equal "$(echo "$output" | tr -d ' ')" "12"
  # And the other way: the box sends and closes first, the client keeps sending.
  kill "$BOXPID"; wait_gone "$NFPID"
  start_box socat TCP-LISTEN:7001,reuseaddr,fork SYSTEM:'echo early; exec 1>&-; cat > /dev/null'
  wait_listen "$BOXPID" 7001
  publish "$port:7001" --pid "$BOXPID"
  bk_run 0 sh -c "(sleep 0.5; echo late) | socat -t 10 - TCP:127.0.0.1:$port"
  assert_output "early"
}

@test "proxy: 1,000 connections at once (two relay threads), and no fd left open afterwards" {
  require_cmd python3
  start_box python3 "$BATS_FILE_TMPDIR/echo_server.py" 7002
  wait_listen "$BOXPID" 7002
  port=$(free_port)
  publish "$port:7002" --pid "$BOXPID" --threads 2
  assert_equal "$(ls /proc/$NFPID/task | wc -l)" 2
  base=$(fd_count "$NFPID")
  bk_run 0 python3 "$BATS_FILE_TMPDIR/many_clients.py" "$port" 1000
  assert_output "1000"
  for _ in $(seq 100); do [ "$(fd_count "$NFPID")" -eq "$base" ] && break; sleep 0.1; done
  assert_equal "$(fd_count "$NFPID")" "$base"
}

@test "proxy: a backend that is down closes that client only; when it comes up, it works" {
  mkdir www; echo up > www/index.html
  start_box sleep 60
  box=$BOXPID
  port=$(free_port)
  publish "$port:8081" --pid "$box"
  run curl -sS --max-time 5 "http://127.0.0.1:$port/index.html"
  assert_failure
  kill -0 "$NFPID"
  # Start the server in the same namespace, now.
  nsenter --net=/proc/$box/ns/net busybox httpd -f -p 127.0.0.1:8081 -h "$PWD/www" </dev/null >/dev/null 2>&1 3>&- &
  echo $! >> "$BATS_TEST_TMPDIR/pids"
  wait_listen "$box" 8081
  bk_run 0 curl -sS --max-time 5 "http://127.0.0.1:$port/index.html"
  assert_output "up"
}

@test "proxy: a backend that resets one connection resets that client only" {
  require_cmd python3
  cat > reset_server.py <<'PY'
import socket, struct, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 7004)); s.listen(16)
def serve(c):
    while data := c.recv(100):
        if data.startswith(b"reset"):
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            break
        c.sendall(data)
    c.close()
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
PY
  start_box python3 "$PWD/reset_server.py"
  wait_listen "$BOXPID" 7004
  port=$(free_port)
  publish "$port:7004" --pid "$BOXPID"
  cat > clients.py <<'PY'
import socket, sys
port = int(sys.argv[1])
a = socket.create_connection(("127.0.0.1", port), timeout=5)
b = socket.create_connection(("127.0.0.1", port), timeout=5)
a.sendall(b"one"); assert a.recv(100) == b"one"
b.sendall(b"reset")
try:
    print("b:", b.recv(100))
except ConnectionResetError:
    print("b: reset")
a.sendall(b"two"); print("a:", a.recv(100).decode())
PY
  bk_run 0 python3 clients.py "$port"
  assert_line "b: reset"
  assert_line "a: two"
  kill -0 "$NFPID"
}

# Out of fds: back off, keep listening, recover. $1: relay threads (with two,
# one loop's spare pipes must not keep the fds the other needs).
out_of_fds_case() {
  require_cmd python3
  start_box python3 "$BATS_FILE_TMPDIR/echo_server.py" 7003
  wait_listen "$BOXPID" 7003
  port=$(free_port)
  bk_run 0 prlimit --nofile=40:40 netfwd publish "$port:7003" --pid "$BOXPID" --threads "$1" --detach --pid-file fwd.pid
  NFPID=$(cat fwd.pid); echo "$NFPID" >> "$BATS_TEST_TMPDIR/pids"
  # Hold 30 connections open: more than 40 fds can carry (6 each).
  python3 - "$port" <<'EOF' &
import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(30)]
time.sleep(2)
EOF
  holder=$!
  sleep 1
  kill -0 "$NFPID"
  wait "$holder"
  sleep 0.3
  bk_run 0 python3 "$BATS_FILE_TMPDIR/many_clients.py" "$port" 3
  assert_output "3"
}

@test "proxy: out of fds it backs off, keeps listening, and recovers" {
  out_of_fds_case 1
}

@test "proxy: out of fds with two relay threads, it recovers too" {
  out_of_fds_case 2
}

@test "proxy: UDP echo, one flow per client" {
  require_cmd python3
  require_cmd socat
  start_box python3 "$BATS_FILE_TMPDIR/udp_echo.py" 5300
  wait_listen "$BOXPID" 5300 udp
  port=$(free_port)
  publish "$port:5300/udp" --pid "$BOXPID" --udp-timeout 3
  base=$(fd_count "$NFPID")
  bk_run 0 sh -c "echo one | socat -t 0.5 - UDP:127.0.0.1:$port"
  assert_output "echo:one"
  bk_run 0 sh -c "echo two | socat -t 0.5 - UDP:127.0.0.1:$port"
  assert_output "echo:two"
  # Two clients (two source ports): two flows, each with its own socket in the box.
  assert_equal "$(fd_count "$NFPID")" "$((base + 2))"
  # Flows end after the idle timeout: their fds go.
  for _ in $(seq 60); do [ "$(fd_count "$NFPID")" -eq "$base" ] && break; sleep 0.1; done
  assert_equal "$(fd_count "$NFPID")" "$base"
}

@test "proxy: several ports in one netfwd, tcp and udp" {
  require_cmd python3
  mkdir www; echo several > www/index.html
  start_box sh -c "busybox httpd -f -p 127.0.0.1:80 -h $PWD/www & exec python3 $BATS_FILE_TMPDIR/udp_echo.py 53"
  wait_listen "$BOXPID" 80; wait_listen "$BOXPID" 53 udp
  # httpd is the shell's child, not the box's first process: teardown kills it by pid.
  pgrep -f "httpd -f -p 127.0.0.1:80 -h $PWD/www" >> "$BATS_TEST_TMPDIR/pids"
  p1=$(free_port); p2=$(free_port)
  publish "$p1:80" "$p2:53/udp" --pid "$BOXPID"
  bk_run 0 curl -sS --max-time 5 "http://127.0.0.1:$p1/"
  assert_output "several"
  bk_run 0 sh -c "echo q | socat -t 2 - UDP:127.0.0.1:$p2"
  assert_output "echo:q"
}

@test "proxy: an IPv6 host address, [::1]:PORT:BOX_PORT, tcp and udp, beside IPv4 on the same port" {
  require_cmd python3
  require_cmd socat
  ip -6 addr show dev lo 2>/dev/null | grep -q '::1/128' || skip "the host's loopback has no ::1 (IPv6 is off)"
  mkdir www; echo "over six" > www/index.html
  start_box sh -c "busybox httpd -f -p 127.0.0.1:80 -h $PWD/www & exec python3 $BATS_FILE_TMPDIR/udp_echo.py 53"
  wait_listen "$BOXPID" 80; wait_listen "$BOXPID" 53 udp
  pgrep -f "httpd -f -p 127.0.0.1:80 -h $PWD/www" >> "$BATS_TEST_TMPDIR/pids"
  p=$(free_port)
  # nat mode's DNAT rule is IPv4: refused before anything is made.
  bk_run 125 netfwd publish "[::1]:$p:80" --pid "$BOXPID" --mode nat
  assert_regex "$stderr" "^netfwd: cannot publish \\[::1\\]:$p:80/tcp with --mode nat"$'\n'"netfwd: hint: .*--mode proxy"
  assert_equal "$(ss -Htuan "sport = :$p")" ""
  # The same port number on ::1 and on 127.0.0.1: IPV6_V6ONLY keeps them apart.
  publish "[::1]:$p:80" "$p:80" "[::1]:$p:53/udp" --pid "$BOXPID"
  assert_equal "$(ss -Htln "sport = :$p" | awk '{print $4}' | sort | tr '\n' ' ')" "127.0.0.1:$p [::1]:$p "
  bk_run 0 curl -sS --max-time 5 "http://[::1]:$p/"
  assert_output "over six"
  bk_run 0 curl -sS --max-time 5 "http://127.0.0.1:$p/"
  assert_output "over six"
  bk_run 0 sh -c "echo six | socat -t 2 - UDP6:[::1]:$p"
  assert_output "echo:six"
  bk_run 0 netfwd ls
  assert_output --partial "[::1]:$p:80/tcp"
  assert_output --partial "[::1]:$p:53/udp"
}

@test "proxy: when the box's pid 1 exits, netfwd exits and its record goes" {
  start_box sleep 60
  port=$(free_port)
  publish "$port:80" --pid "$BOXPID"
  kill "$BOXPID"
  wait_gone "$NFPID"
  bk_run 0 netfwd ls --json
  assert_equal "$(echo "$output" | jq '.published | length')" 0
  assert_equal "$(ls "$BOXKIT_RUN/../netfwd" | wc -l)" 0
  assert_equal "$(ss -Htln "sport = :$port")" ""
}

@test "proxy: SIGINT and SIGTERM stop it cleanly (exit 0), in the foreground too" {
  start_box sleep 60
  port=$(free_port)
  netfwd publish "$port:80" --pid "$BOXPID" 3>&- &
  fg=$!
  for _ in $(seq 100); do [ -n "$(ss -Htln "sport = :$port")" ] && break; sleep 0.05; done
  kill -INT "$fg"
  status=0; wait "$fg" || status=$?
  assert_equal "$status" 0
  assert_equal "$(ss -Htln "sport = :$port")" ""
}

@test "--netns: a namespace made with ip netns add" {
  ns=bknf$$$RANDOM
  ip netns add "$ns"; echo "$ns" >> "$BATS_TEST_TMPDIR/netns"
  ip -n "$ns" link set lo up
  mkdir www; echo netns > www/index.html
  ip netns exec "$ns" busybox httpd -f -p 127.0.0.1:80 -h "$PWD/www" </dev/null >/dev/null 2>&1 3>&- &
  echo $! >> "$BATS_TEST_TMPDIR/pids"
  for _ in $(seq 100); do [ -n "$(ip netns exec "$ns" ss -Htln 'sport = :80')" ] && break; sleep 0.05; done
  port=$(free_port)
  publish "$port:80" --netns "/run/netns/$ns"
  bk_run 0 curl -sS --max-time 5 "http://127.0.0.1:$port/"
  assert_output "netns"
}

@test "--box NAME: a named box from nsjail-lite --net" {
  command -v nsjail-lite >/dev/null || skip "needs nsjail-lite in $BOXKIT_BIN"
  mkdir www; echo named > www/index.html
  name=nf$$$RANDOM
  bk_run 0 nsjail-lite --net --pid --name "$name" --detach -- busybox httpd -f -p 127.0.0.1:80 -h "$PWD/www"
  box=$(jq -r .pid "$BOXKIT_RUN/$name.json")
  echo "$box" >> "$BATS_TEST_TMPDIR/pids"
  wait_listen "$box" 80
  port=$(free_port)
  publish "$port:80" --box "$name"
  bk_run 0 curl -sS --max-time 5 "http://127.0.0.1:$port/"
  assert_output "named"
  bk_run 0 nsjail-lite stop "$name"
  wait_gone "$NFPID"
}

# ---- nat mode and links ---------------------------------------------------

nat_tables() { nft list tables | grep -c boxkit_netfwd_ || true; }

@test "nat: DNAT to the box's eth0; rules and link gone after SIGTERM" {
  require_cmd nft
  mkdir www; echo nat > www/index.html
  start_box busybox httpd -f -p 80 -h "$PWD/www"
  wait_listen "$BOXPID" 80
  ino=$(stat -L -c %i /proc/$BOXPID/ns/net)
  port=$(free_port)
  publish "$port:80" --pid "$BOXPID" --mode nat
  bk_run 0 curl -sS --max-time 5 "http://127.0.0.1:$port/index.html"
  assert_output "nat"
  assert [ -e "/sys/class/net/bk$ino" ]
  bk_run 0 netfwd ls --json
  assert_equal "$(echo "$output" | jq -r '.published[0].mode')" "nat"
  assert_equal "$(echo "$output" | jq -r '.links[0].host_if')" "bk$ino"
  table=$(echo "$output" | jq -r '.published[0].nft_table')
  nft list table ip "$table" | grep -q "tcp dport $port dnat to 10.203"
  kill "$NFPID"; wait_gone "$NFPID"
  run nft list table ip "$table"
  assert_failure
  assert [ ! -e "/sys/class/net/bk$ino" ]
  bk_run 0 netfwd ls --json
  assert_equal "$(echo "$output" | jq -c '[.published, .links]')" "[[],[]]"
}

@test "nat: a service on the box's loopback only is not reached (proxy mode is)" {
  require_cmd nft
  mkdir www; echo lo > www/index.html
  start_box busybox httpd -f -p 127.0.0.1:80 -h "$PWD/www"
  wait_listen "$BOXPID" 80
  port=$(free_port)
  publish "$port:80" --pid "$BOXPID" --mode nat
  run curl -sS --max-time 3 "http://127.0.0.1:$port/"
  assert_failure
}

@test "nat: when the box exits, netfwd exits leaving no rule and no link" {
  require_cmd nft
  start_box sleep 60
  ino=$(stat -L -c %i /proc/$BOXPID/ns/net)
  port=$(free_port)
  publish "$port:80" "$port:53/udp" --pid "$BOXPID" --mode nat
  table=$(netfwd ls --json | jq -r '.published[0].nft_table')
  nft list table ip "$table" | grep -q "udp dport $port dnat to"
  kill "$BOXPID"
  wait_gone "$NFPID"
  run nft list table ip "$table"
  assert_failure
  assert [ ! -e "/sys/class/net/bk$ino" ]
}

@test "nat: a netfwd killed with SIGKILL leaves rules; the next 'netfwd ls' removes them" {
  require_cmd nft
  start_box sleep 60
  ino=$(stat -L -c %i /proc/$BOXPID/ns/net)
  port=$(free_port)
  publish "$port:80" --pid "$BOXPID" --mode nat
  table=$(netfwd ls --json | jq -r '.published[0].nft_table')
  kill -KILL "$NFPID"; wait_gone "$NFPID"
  nft list table ip "$table" >/dev/null
  bk_run 0 netfwd ls
  assert_regex "$stderr" "removing its table $table"
  run nft list table ip "$table"
  assert_failure
  assert [ ! -e "/sys/class/net/bk$ino" ]
}

@test "link: a veth with addresses and a default route; unlink removes it; ls shows it" {
  start_box sleep 60
  ino=$(stat -L -c %i /proc/$BOXPID/ns/net)
  bk_run 0 netfwd link --pid "$BOXPID" --subnet 10.203.250.0/30 --json
  assert_equal "$(echo "$output" | jq -r .host_if)" "bk$ino"
  assert_equal "$(echo "$output" | jq -r .box_address)" "10.203.250.2"
  bk_run 0 nsenter --net=/proc/$BOXPID/ns/net ip -br -4 addr show dev eth0
  assert_output --regexp "^eth0(@if[0-9]+)? +UP +10.203.250.2/30"
  bk_run 0 nsenter --net=/proc/$BOXPID/ns/net ip route show default
  assert_output --partial "default via 10.203.250.1 dev eth0"
  bk_run 0 busybox ping -c 1 -W 2 10.203.250.2
  bk_run 125 netfwd link --pid "$BOXPID"
  assert_regex "$stderr" "already exists"
  bk_run 0 netfwd ls
  assert_output --partial "bk$ino"
  bk_run 0 netfwd unlink --pid "$BOXPID"
  assert [ ! -e "/sys/class/net/bk$ino" ]
  bk_run 0 netfwd ls --json
  assert_equal "$(echo "$output" | jq '.links | length')" 0
}

@test "link: a subnet the host uses is refused; the default picks a free /30; the box's end goes with the box" {
  start_box sleep 60
  ino=$(stat -L -c %i /proc/$BOXPID/ns/net)
  bk_run 125 netfwd link --pid "$BOXPID" --subnet 127.0.0.0/30
  assert_regex "$stderr" "overlaps 127.0.0.0/8"
  bk_run 0 netfwd link --pid "$BOXPID" --json
  assert_regex "$(echo "$output" | jq -r .subnet)" '^10\.203\.[0-9]+\.[0-9]+/30$'
  # A nat publish reuses the link and leaves it when it stops.
  port=$(free_port)
  publish "$port:80" --pid "$BOXPID" --mode nat
  kill "$NFPID"; wait_gone "$NFPID"
  assert [ -e "/sys/class/net/bk$ino" ]
  kill "$BOXPID"; wait_gone "$BOXPID"
  for _ in $(seq 50); do [ -e "/sys/class/net/bk$ino" ] || break; sleep 0.1; done
  assert [ ! -e "/sys/class/net/bk$ino" ]
  bk_run 0 netfwd ls --json
  assert_equal "$(echo "$output" | jq '.links | length')" 0
}
