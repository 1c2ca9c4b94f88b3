#!/usr/bin/env bash
# run-cluster.sh -- the three-node deployment of docs/deployment.md on one
# machine, from the example files next to this script: one Redis
# (redis.conf), three jugglite nodes bridged to it, nginx in front
# (nginx-cluster.conf). Everything listens on 127.0.0.1 and runs in the
# foreground; Ctrl-C (or SIGTERM) stops all of it.
#
#   JUGGLITE=build/release/jugglite docs/examples/run-cluster.sh   # what `make run` builds
#   curl -N 'http://127.0.0.1:8000/stream?channel=news'       # a browser
#   redis-cli -p 6390 --user jugglite --pass jugglite-demo-password PUBLISH news hi
#
# It says "ready" only once every server listens on its ports; if one cannot
# start (no binary, a port in use, a server that exits), it says which, stops
# the others and exits 1.
#
# Ports can be moved with NGINX_PORT, REDIS_PORT, SSE_PORTS and RESP_PORTS
# (three each); tests/integration/bridge_example.test.mjs does so.
# STARTUP_TIMEOUT (seconds, default 30) bounds the wait for each server.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
JUGGLITE=${JUGGLITE:-jugglite}
NGINX_PORT=${NGINX_PORT:-8000}
REDIS_PORT=${REDIS_PORT:-6390}
read -r -a sse <<< "${SSE_PORTS:-3001 3002 3003}"
read -r -a resp <<< "${RESP_PORTS:-6381 6382 6383}"
STARTUP_TIMEOUT=${STARTUP_TIMEOUT:-30}

fail() {
    echo "run-cluster.sh: $*" >&2
    exit 1
}

# Is something listening on 127.0.0.1:$1? (bash's /dev/tcp: no tool needed)
listening() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Wait until process $2 (named $1) listens on every port after it; fail if it
# exits first or takes longer than STARTUP_TIMEOUT.
wait_listening() {
    local name=$1 pid=$2 port
    shift 2
    local deadline=$((SECONDS + STARTUP_TIMEOUT))
    for port in "$@"; do
        until listening "$port"; do
            kill -0 "$pid" 2>/dev/null || fail "$name exited before listening on port $port (see its output above); stopping the rest"
            [ "$SECONDS" -lt "$deadline" ] || fail "$name did not listen on port $port within ${STARTUP_TIMEOUT} s; stopping the rest"
            sleep 0.1
        done
    done
    kill -0 "$pid" 2>/dev/null || fail "$name exited (see its output above); stopping the rest"
}

# Everything this needs, checked before anything starts.
if [[ $JUGGLITE == */* ]]; then
    [ -f "$JUGGLITE" ] && [ -x "$JUGGLITE" ] || fail "no jugglite binary at $JUGGLITE (set JUGGLITE to one; \`make run\` builds build/release/jugglite)"
else
    command -v "$JUGGLITE" >/dev/null || fail "no $JUGGLITE on PATH (set JUGGLITE to the binary; \`make run\` builds build/release/jugglite)"
fi
# nginx lives in /usr/sbin, which is not on a normal user's PATH on Debian.
PATH=$PATH:/usr/sbin
for tool in redis-server nginx; do
    command -v "$tool" >/dev/null || fail "no $tool on PATH (apt-get install redis-server nginx-light)"
done
for port in "$NGINX_PORT" "$REDIS_PORT" "${sse[@]:0:3}" "${resp[@]:0:3}"; do
    ! listening "$port" || fail "port $port on 127.0.0.1 is already in use"
done

# The one password, read from redis.conf so the two cannot disagree.
pass=$(sed -n 's/^user jugglite on >\([^ ]*\).*/\1/p' "$here/redis.conf")

dir=$(mktemp -d "${TMPDIR:-/tmp}/jugglite-cluster.XXXXXX")
pids=()
cleanup() {
    trap - EXIT INT TERM
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

redis-server "$here/redis.conf" --port "$REDIS_PORT" --dir "$dir" --logfile "" &
pids+=($!)
echo "redis pid $! port $REDIS_PORT"
wait_listening redis "$!" "$REDIS_PORT"

upstream="redis://jugglite:${pass}@127.0.0.1:${REDIS_PORT}"
for i in 0 1 2; do
    "$JUGGLITE" --address 127.0.0.1 --port "${sse[$i]}" --resp-port "${resp[$i]}" \
        --upstream "$upstream" &
    pids+=($!)
    echo "node $((i + 1)) pid $! sse ${sse[$i]} resp ${resp[$i]}"
done
for i in 0 1 2; do
    wait_listening "node $((i + 1))" "${pids[$((i + 1))]}" "${sse[$i]}" "${resp[$i]}"
done

# nginx wants a whole configuration: wrap the server block in one, with
# every path in the temporary directory so that no root is needed.
sed -e "s/listen 80;/listen 127.0.0.1:${NGINX_PORT};/" \
    -e "s/127.0.0.1:3001 /127.0.0.1:${sse[0]} /" \
    -e "s/127.0.0.1:3002 /127.0.0.1:${sse[1]} /" \
    -e "s/127.0.0.1:3003 /127.0.0.1:${sse[2]} /" \
    "$here/nginx-cluster.conf" > "$dir/site.conf"
mkdir -p "$dir/tmp"
cat > "$dir/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include $dir/site.conf;
}
EOF
nginx -p "$dir" -c "$dir/nginx.conf" &
pids+=($!)
echo "nginx pid $! port $NGINX_PORT"
wait_listening nginx "$!" "$NGINX_PORT"
for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || fail "process $p exited (see its output above); stopping the rest"
done

echo "ready: curl -N 'http://127.0.0.1:${NGINX_PORT}/stream?channel=news'"
echo "       redis-cli -p ${REDIS_PORT} --user jugglite --pass ${pass} PUBLISH news hello"
# Until a signal, or until a node or nginx dies. Redis may come and go:
# the nodes keep their browsers and reconnect (docs/deployment.md).
wait -n "${pids[@]:1}"
echo "a node or nginx exited; stopping the rest" >&2
exit 1
