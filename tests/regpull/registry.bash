# Start and stop Debian's docker-registry for the regpull tests, the
# benchmark and the lesson. Source it, then:
#
#   free_port                      a TCP port nobody listens on (127.0.0.1)
#   registry_start DIR PORT [USER PASS]   a registry on 127.0.0.1:PORT, storage
#                                  in DIR; with USER/PASS it wants Basic auth
#   registry_stop DIR              stop the one started with DIR
#
# The pid is kept in DIR/pid, so a teardown can always find what it started.

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

registry_start() {
  local dir=$1 port=$2 user=${3:-} pass=${4:-} auth=""
  mkdir -p "$dir/data"
  if [ -n "$user" ]; then
    # docker-registry's htpasswd file wants bcrypt: apache2-utils' htpasswd
    # makes it, and so does Python's crypt module (up to Python 3.12).
    if command -v htpasswd >/dev/null; then
      htpasswd -Bbn "$user" "$pass" > "$dir/htpasswd"
    else
      python3 -W ignore -c 'import crypt,sys; print(sys.argv[1] + ":" + crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_BLOWFISH)))' \
        "$user" "$pass" > "$dir/htpasswd"
    fi
    auth=$(printf 'auth:\n  htpasswd:\n    realm: boxkit-test\n    path: %s\n' "$dir/htpasswd")
  fi
  cat > "$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$auth
YAML
  docker-registry serve "$dir/config.yml" > "$dir/log" 2>&1 &
  echo $! > "$dir/pid"
  local i
  for i in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && return 0
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || { cat "$dir/log" >&2; return 1; }
    sleep 0.1
  done
  echo "registry on port $port did not start" >&2
  cat "$dir/log" >&2
  return 1
}

registry_stop() {
  local dir=$1
  [ -f "$dir/pid" ] || return 0
  kill "$(cat "$dir/pid")" 2>/dev/null
  wait "$(cat "$dir/pid")" 2>/dev/null || true
  rm -f "$dir/pid"
}
