#!/usr/bin/env bash
# smoke.sh -- a few-second loadgen run against a freshly started jugglite.
#
# Why this exists: it is the ctest "bench.smoke" (label bench). It proves the
# load generator and the server agree end to end -- a few hundred SSE streams
# and RESP subscribers, stamped messages over RESP, every event delivered once
# and in order -- without the cost of bench/compare. The last pass restarts
# the server with --history-file and resumes streams with Last-Event-ID.
#
# Usage: bench/smoke.sh [JUGGLITE_BIN [LOADGEN_BIN]]
#   defaults: $JUGGLITE_BIN, $LOADGEN_BIN, then build/jugglite, build/bench/loadgen
# Exit 0 only if every loadgen pass reports status=ok.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
jugglite=${1:-${JUGGLITE_BIN:-$root/build/jugglite}}
loadgen=${2:-${LOADGEN_BIN:-$root/build/bench/loadgen}}

for bin in "$jugglite" "$loadgen"; do
  [[ -x $bin ]] || { echo "smoke: not executable: $bin" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/jl-smoke.XXXXXX")
server_pid=

stop_jugglite() {   # SIGTERM (a clean shutdown: it writes --history-file), then KILL
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  server_pid=
}
cleanup() {
  stop_jugglite
  rm -rf "$work"
}
trap cleanup EXIT

# Starts jugglite on two free loopback ports (the same ones again with
# --same-ports), extra flags after; sets server_pid, resp_port, sse_port.
start_jugglite() {
  local ports
  if [[ ${1:-} == --same-ports ]]; then
    shift
  else
    ports=$("$loadgen" --free-ports 2) || { echo "smoke: no free ports" >&2; return 1; }
    read -r resp_port sse_port <<<"$ports"
  fi
  "$jugglite" --resp-port "$resp_port" --port "$sse_port" --address 127.0.0.1 \
      --max-conns 2000 "$@" >"$work/jugglite.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    if grep -q "RESP listening on" "$work/jugglite.log" &&
       grep -q "SSE listening on" "$work/jugglite.log"; then
      return 0
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "smoke: jugglite did not start:" >&2
  cat "$work/jugglite.log" >&2
  return 1
}

# run_pass NAME LOADGEN-ARGS... : one loadgen run; prints its report.
run_pass() {
  local name=$1; shift
  echo "--- smoke pass: $name"
  "$loadgen" --sse-port "$sse_port" --resp-port "$resp_port" --pub-port "$resp_port" \
      --server-pid "$server_pid" --timeout 20 --quiet "$@"
  local rc=$?
  echo "--- $name: exit $rc"
  return $rc
}

start_jugglite || exit 1
echo "smoke: jugglite pid $server_pid, RESP :$resp_port, SSE :$sse_port"

status=0
run_pass "mixed 300 SSE + 200 RESP, 200 x 64 B flat out" \
    --sse 300 --resp-subs 200 --channel smoke1 --publish 200 --size 64 || status=1
run_pass "200 SSE over 4 source addresses, 100 x 1 KiB at 400/s, a bystander PING every 5 ms" \
    --sse 200 --src-addrs 4 --channel smoke2 --publish 100 --size 1024 --rate 400 \
    --ping-every 5 || status=1
run_pass "100 RESP, 2 worker processes, 300 x 200 B window 8" \
    --resp-subs 100 --procs 2 --channel smoke3 --publish 300 --size 200 --window 8 || status=1

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "smoke: jugglite died during the run" >&2
  cat "$work/jugglite.log" >&2
  status=1
fi

# Resume across a clean restart: 50 streams get 40 events; SIGTERM writes the
# history file, a new process on the same ports reads it; 50 new streams send
# the id of event 19 (read from the first run's stream) as Last-Event-ID and
# must get events 20..39 replayed, then 10 live ones, each once and in order.
stop_jugglite
start_jugglite --history-file "$work/history" || exit 1
echo "--- smoke pass: 50 SSE get 40 x 64 B, then a restart with --history-file"
first=$("$loadgen" --sse 50 --sse-port "$sse_port" --pub-port "$resp_port" --channel smoke4 \
    --publish 40 --capture-id 19 --timeout 20 --quiet)
echo "${first##*$'\n'}"
id=$(sed -n 's/^RESULT .* id_at=\([^ ]*\).*/\1/p' <<<"$first")
[[ $first == *"RESULT status=ok"* && -n $id && $id != - ]] || { echo "smoke: no id for event 19" >&2; status=1; }
stop_jugglite
start_jugglite --same-ports --history-file "$work/history" || exit 1
run_pass "50 SSE resume from event 19 (id $id): 20 replayed, then 10 live" \
    --sse 50 --channel smoke4 --last-event-id "${id:-none}" --replay 20 --seq-base 40 \
    --publish 10 || status=1
[[ $status -eq 0 ]] && echo "smoke: all passes delivered every event" || echo "smoke: FAILED" >&2
exit $status
