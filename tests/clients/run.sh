#!/usr/bin/env bash
# Real clients against wsgate serve (ctest `serve_clients`, CI).
#
# Starts `wsgate serve` on an ephemeral loopback port, mints tokens with
# node's crypto (tests/clients/mint.js), runs node `ws`, python3-websockets,
# python3-wsproto and the raw-socket conformance and misbehaviour clients,
# checks that the server's outcome log agrees with each client session by
# session (check_log.py, which must also reject a deliberately wrong
# result), stops the server with SIGTERM and requires exit 0; then a second
# server (first-message auth, --max-conns 3) for the auth timeout, the
# connection cap and graceful shutdown with open sessions.
#
# usage: run.sh WSGATE SOURCE_DIR WORK_DIR
# Exit 77 (skip) with a message when a client package is not installed.
set -uo pipefail
if [ $# -ne 3 ]; then
  echo "usage: run.sh WSGATE SOURCE_DIR WORK_DIR" >&2
  exit 2
fi
ws=$(realpath "$1") src=$(realpath "$2") work=$3
py=/usr/bin/python3
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
need() { echo "serve_clients: SKIP: $1 not installed (bash .ci/deps installs it)"; exit 77; }
command -v node >/dev/null || need "node (nodejs)"
node -e 'require("ws")' 2>/dev/null || need "node ws (node-ws)"
[ -x $py ] || need "/usr/bin/python3"
$py -c 'import websockets' 2>/dev/null || need "python3-websockets"
$py -c 'import wsproto' 2>/dev/null || need "python3-wsproto"

rm -rf "$work" && mkdir -p "$work" || exit 2
cd "$work" || exit 2
fail=0
bad() { echo "serve_clients: FAIL: $*"; fail=1; }
"$ws" diags --json > diags.json || exit 1
node "$src/tests/clients/mint.js" "$src/tests/keys" > tokens.json || exit 1

# start NAME ARGS...: runs the server in the background, sets PID and PORT.
start() {
  local name=$1
  shift
  "$ws" serve --listen 127.0.0.1:0 --keys "$src/tests/keys/jwks.json" \
    --threads 2 --stats-interval 0 --log "$name.log" "$@" > "$name.out" 2> "$name.err" &
  PID=$!
  for _ in $(seq 100); do
    [ -s "$name.out" ] && break
    kill -0 $PID 2>/dev/null || break
    sleep 0.1
  done
  PORT=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["listening"].rsplit(":",1)[1])' "$name.out" 2>/dev/null)
  if [ -z "$PORT" ]; then
    echo "serve_clients: $name did not start:"; cat "$name.err"
    kill $PID 2>/dev/null
    exit 1
  fi
}

# stop NAME: SIGTERM, then exit 0 within the grace period.
stop() {
  kill -TERM $PID
  local rc
  wait $PID
  rc=$?
  [ $rc -eq 0 ] || bad "$1: exit $rc after SIGTERM"
  grep -q '"stats":"final"' "$1.log" || bad "$1: no final stats line"
  grep -q '"stats":"final","open":0' "$1.log" || bad "$1: sessions left open at exit"
}

client() { # NAME COMMAND...: runs a client, its results go to NAME.jsonl
  local name=$1
  shift
  if ! timeout 120 "$@" > "$name.jsonl" 2> "$name.err"; then
    bad "$name:"; cat "$name.err"
  else
    tail -1 "$name.err"
  fi
}

start main --handshake-timeout 1000 --idle-timeout 1500 --close-timeout 1000 --grace 2000
url=ws://127.0.0.1:$PORT/chat
client node-ws node "$src/tests/clients/node_ws_client.js" "$url" tokens.json
client websockets $py "$src/tests/clients/py_websockets_client.py" "$url" tokens.json
client wsproto $py "$src/tests/clients/py_wsproto_client.py" "127.0.0.1:$PORT" tokens.json
client conformance $py "$src/tests/clients/raw_conformance.py" conformance "127.0.0.1:$PORT" tokens.json
client misbehave $py "$src/tests/clients/raw_conformance.py" misbehave "127.0.0.1:$PORT" tokens.json
sleep 1.2 # the last close timeouts
stop main
$py "$src/tests/clients/check_log.py" main.log node-ws.jsonl websockets.jsonl wsproto.jsonl \
  conformance.jsonl misbehave.jsonl --diags diags.json || bad "main: log and clients disagree"
# The check can fail: one result altered must be caught.
sed '0,/"reason": "FRAME_BINARY"/s//"reason": "FRAME_TEXT"/' websockets.jsonl > altered.jsonl
if $py "$src/tests/clients/check_log.py" main.log altered.jsonl > altered.out 2>&1; then
  bad "check_log accepted an altered result"
fi
grep -q "reason: server says 'FRAME_BINARY', client saw 'FRAME_TEXT'" altered.out ||
  bad "check_log did not name the altered reason"
# A local port the kernel gave to two connections in turn: each client
# session is matched to a server line of its own, in either order; a second
# session with only one server line for it is caught.
printf '%s\n' '{"peer":"127.0.0.1:9","diag":"CLOSE_CLIENT","class":"client","http_status":101,"close_code":1000,"reason":"CLOSE_CLIENT"}' \
  '{"peer":"127.0.0.1:9","diag":"FRAME_BAD_HEADER","class":"protocol","http_status":101,"close_code":1002,"reason":"FRAME_BAD_HEADER"}' > reuse.log
printf '%s\n' '{"client":"t","case":"a","peer":"127.0.0.1:9","diag":"FRAME_BAD_HEADER","http_status":101,"close_code":1002,"reason":"FRAME_BAD_HEADER"}' \
  '{"client":"t","case":"b","peer":"127.0.0.1:9","diag":"CLOSE_CLIENT","http_status":101,"close_code":1000,"reason":"CLOSE_CLIENT"}' > reuse.jsonl
$py "$src/tests/clients/check_log.py" reuse.log reuse.jsonl > reuse.out 2>&1 || bad "check_log refused a reused peer port: $(cat reuse.out)"
head -1 reuse.jsonl > reuse2.jsonl
head -1 reuse.jsonl | sed 's/"case":"a"/"case":"c"/' >> reuse2.jsonl
if $py "$src/tests/clients/check_log.py" reuse.log reuse2.jsonl > reuse2.out 2>&1; then
  bad "check_log matched one server line to two client sessions"
fi
# Every line against the table (the soak's check), which must also fail on
# a close code that is not the table's.
$py "$src/tests/clients/check_soak.py" main.log diags.json > soak_check.out || bad "main: log vs table"
sed '0,/"diag":"FRAME_BINARY","class":"policy","http_status":101,"close_code":1003/s//"diag":"FRAME_BINARY","class":"policy","http_status":101,"close_code":1011/' \
  main.log > altered.log
if $py "$src/tests/clients/check_soak.py" altered.log diags.json > altered_soak.out 2>&1; then
  bad "check_soak accepted a 1011 for FRAME_BINARY"
fi

start limits --config "$src/tests/clients/first_message_auth.json" --max-conns 3 \
  --auth-timeout 1000 --close-timeout 1000 --grace 3000
client limits $py "$src/tests/clients/raw_conformance.py" limits "127.0.0.1:$PORT" tokens.json $PID
wait $PID
rc=$?
[ $rc -eq 0 ] || bad "limits: exit $rc after SIGTERM"
grep -q '"stats":"final","open":0' limits.log || bad "limits: no final stats line with open 0"
$py "$src/tests/clients/check_log.py" limits.log limits.jsonl --diags diags.json ||
  bad "limits: log and clients disagree"

[ $fail -eq 0 ] && echo "serve_clients: all clients agree with the server's log"
exit $fail
