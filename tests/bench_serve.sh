#!/usr/bin/env bash
# Load and soak benchmark for `wsgate serve` (a benchmark, not a ctest).
#
# Side by side in one run: wsgate serve and an equivalent node `ws` server
# (tests/peers/node_ws_server.js: same JSON ping/ack protocol, HS256 on the
# upgrade), both driven by the C load generator build/<preset>/tests/wsload
# on loopback:
#   - messages/s (8 user_messages in flight per connection) and full
#     sessions/s (connect + HS256 + 10 user_messages + close) at 1, 100 and
#     1,000 concurrent connections, with the wsgate/node ratios;
#   - RSS per open idle connection at 10,000 connections;
#   - p50/p99 round trip of a ping at 1,000 connections, twice: paced (each
#     connection pings once a second: the server is far from saturated, so
#     this is the latency) and closed loop (each connection pings again as
#     soon as its pong arrives: every connection always busy, so p50 is
#     about 1000 / pings per second, a throughput figure); with each, the
#     server's CPU time per ping (utime + stime from /proc, which does not
#     depend on how much of the machine the server was given);
#   - a soak of wsgate with --fault-rate 0.01: the server must not crash,
#     every outcome line must agree with the diagnosis table
#     (tests/clients/check_soak.py), and after all clients leave its RSS
#     and open fds must be back near their start.
# Both servers get one thread (node is single-threaded); wsgate's soak runs
# with --threads 2.  The report goes to stdout and to --out.
#
# usage: tests/bench_serve.sh [--build DIR] [--secs S] [--soak-secs S]
#                             [--idle-conns N] [--parts LIST] [--out FILE]
#   --build      build directory with cli/wsgate and tests/wsload
#                (default build/release)
#   --secs       seconds per throughput/latency run (default 3)
#   --soak-secs  soak duration (default 600: the 10 minutes of the issue)
#   --idle-conns connections for the memory figure (default 10000)
#   --parts      comma-separated subset of throughput,rtt,idle,soak
#                (default all of them); the soak decides the exit status
#   --out        report file (default reports/serve.md)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=build/release secs=3 soak=600 idle=10000 out=reports/serve.md
parts=throughput,rtt,idle,soak
usage() { sed -n '/^# usage:/,/^#   --out/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case $1 in
    --build) build=$2 ;;
    --secs) secs=$2 ;;
    --soak-secs) soak=$2 ;;
    --idle-conns) idle=$2 ;;
    --parts) parts=$2 ;;
    --out) out=$2 ;;
    *) usage ;;
  esac
  shift 2
done
for v in "$secs" "$soak" "$idle"; do
  [[ $v =~ ^[0-9]+$ ]] && [ "$v" -gt 0 ] || { echo "bench_serve: '$v' is not a positive integer" >&2; usage; }
done
for p in ${parts//,/ }; do
  case $p in throughput|rtt|idle|soak) ;; *) echo "bench_serve: unknown part '$p'" >&2; usage ;; esac
done
[ -n "${parts//,/}" ] || usage
want() { [[ ",$parts," == *",$1,"* ]]; }
ws=$root/$build/cli/wsgate load=$root/$build/tests/wsload
py=/usr/bin/python3
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
[ -x "$ws" ] && [ -x "$load" ] || {
  echo "bench_serve: build first: cmake --preset release && cmake --build --preset release" >&2; exit 2; }
node -e 'require("ws")' 2>/dev/null || { echo "bench_serve: node ws missing (apt-get install node-ws)" >&2; exit 2; }
# 10,000 connections on both ends, plus the servers' own.
ulimit -n $((idle * 2 + 1024)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((idle + 200)) ]; then
  echo "bench_serve: cannot raise the fd limit to $((idle + 200)) (ulimit -Hn: $(ulimit -Hn))" >&2
  exit 2
fi

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
node tests/clients/mint.js tests/keys > "$tmp/tokens.json" || exit 1
token=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["tokens"]["hs256"])' "$tmp/tokens.json")
"$ws" diags --json > "$tmp/diags.json"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
nfds() { ls "/proc/$1/fd" | wc -l; }
jget() { $py -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2"; }

# start_server wsgate|node LOG [ARGS...]: sets SPID and SPORT.
start_server() {
  local kind=$1 log=$2 o=$tmp/start.out
  shift 2
  : > "$o"
  if [ "$kind" = wsgate ]; then
    "$ws" serve --listen 127.0.0.1:0 --keys tests/keys/jwks.json --stats-interval 0 \
      --max-conns $((idle + 1000)) --handshake-timeout 60000 --idle-timeout 600000 \
      --log "$log" "$@" > "$o" 2>> "$tmp/server.err" &
  else
    node tests/peers/node_ws_server.js 0 tests/keys/hs256.key > "$o" 2>> "$tmp/server.err" &
  fi
  SPID=$!
  pids+=("$SPID")
  for _ in $(seq 100); do [ -s "$o" ] && break; sleep 0.1; done
  SPORT=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["listening"].rsplit(":",1)[1])' "$o") || {
    echo "bench_serve: $kind did not start" >&2; cat "$tmp/server.err" >&2; exit 1; }
}
stop_server() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

run() { "$load" "$@" --port "$SPORT" --token "$token" 2>/dev/null; }

report=$tmp/report.md
{
  echo "# wsgate serve benchmark"
  echo
  echo "\`tests/bench_serve.sh --secs $secs --soak-secs $soak --idle-conns $idle --parts $parts\`, $(date -u +%Y-%m-%dT%H:%MZ),"
  echo "$(nproc) cores, $(uname -sr), node $(node -v), ws $(node -p 'require("ws/package.json").version')."
  echo "Both servers single-threaded; wsload one thread, loopback. Load average at the start:"
  echo "$(cut -d' ' -f1-3 /proc/loadavg) (figures move with it: other work on the machine shares the cores)."
  echo
} > "$report"

declare -A R
for kind in wsgate node; do
  start_server "$kind" "$tmp/$kind.log" --threads 1
  for c in 1 100 1000; do
    want throughput || break
    m=$(run msgs --conns "$c" --secs "$secs" --pipeline 8)
    s=$(run sessions --conns "$c" --secs "$secs")
    R[$kind,msgs,$c]=$(jget "$m" messages_per_s)
    R[$kind,sess,$c]=$(jget "$s" sessions_per_s)
    R[$kind,err,$c]="$(jget "$m" errors)/$(jget "$s" errors)"
    echo "bench_serve: $kind $c conns: $m $s" >&2
  done
  if want rtt; then
    hz=$(getconf CLK_TCK)
    for how in paced closed; do
      extra=()
      [ $how = paced ] && extra=(--interval-ms 1000)
      t0=$(cpu_ticks "$SPID")
      r=$(run rtt --conns 1000 --secs "$secs" "${extra[@]}")
      t1=$(cpu_ticks "$SPID")
      R[$kind,$how,p50]=$(jget "$r" rtt_p50_us)
      R[$kind,$how,p99]=$(jget "$r" rtt_p99_us)
      R[$kind,$how,rate]=$(jget "$r" messages_per_s)
      # CPU per ping over the whole run (the 1,000 upgrades included).
      R[$kind,$how,cpu]=$($py -c 'import sys; t,n,hz=int(sys.argv[1]),int(sys.argv[2] or 0),int(sys.argv[3]); print(f"{t*1e6/hz/n:.0f}" if n else "-")' \
        "$((t1 - t0))" "$(jget "$r" messages)" "$hz")
      echo "bench_serve: $kind rtt $how: $r (server CPU $((t1 - t0)) ticks)" >&2
    done
  fi
  stop_server "$SPID"
  want idle || continue
  # Memory: a fresh server, RSS before and with $idle idle connections.
  start_server "$kind" "$tmp/$kind-idle.log" --threads 1
  sleep 0.5
  before=$(rss_kb "$SPID")
  "$load" idle --conns "$idle" --secs 4 --port "$SPORT" --token "$token" > "$tmp/idle.out" 2>/dev/null &
  lp=$!
  for _ in $(seq 600); do grep -q ready "$tmp/idle.out" && break; sleep 0.1; done
  sleep 1
  after=$(rss_kb "$SPID")
  ready=$(head -1 "$tmp/idle.out" | $py -c 'import json,sys; print(json.loads(sys.stdin.readline())["ready"])' 2>/dev/null)
  wait $lp
  R[$kind,rss0]=$before R[$kind,rss1]=$after R[$kind,ready]=${ready:-0}
  R[$kind,perconn]=$(( (after - before) * 1024 / (ready > 0 ? ready : 1) ))
  echo "bench_serve: $kind idle: ready ${ready:-0}, RSS $before -> $after kB" >&2
  stop_server "$SPID"
done

ratio() { $py -c 'import sys; a,b=float(sys.argv[1] or 0),float(sys.argv[2] or 0); print(f"{a/b:.2f}" if b else "-")' "$1" "$2"; }
want throughput || want rtt || want idle && {
  echo "| figure | conns | wsgate | node ws | wsgate / node | goal |"
  echo "|---|---:|---:|---:|---:|---|"
  want throughput && {
  for c in 1 100 1000; do
    echo "| messages/s (8 in flight per connection) | $c | ${R[wsgate,msgs,$c]} | ${R[node,msgs,$c]} | $(ratio "${R[wsgate,msgs,$c]}" "${R[node,msgs,$c]}") | ≥ 3 |"
  done
  for c in 1 100 1000; do
    echo "| sessions/s (connect + HS256 + 10 messages + close) | $c | ${R[wsgate,sess,$c]} | ${R[node,sess,$c]} | $(ratio "${R[wsgate,sess,$c]}" "${R[node,sess,$c]}") | |"
  done
  }
  want rtt && for how in paced closed; do
    label="ping round trip p50 / p99, µs, paced (1 ping/s per connection)"
    [ $how = closed ] && label="ping round trip p50 / p99, µs, closed loop (saturated)"
    echo "| $label | 1000 | ${R[wsgate,$how,p50]} / ${R[wsgate,$how,p99]} | ${R[node,$how,p50]} / ${R[node,$how,p99]} | $(ratio "${R[wsgate,$how,p50]}" "${R[node,$how,p50]}") | |"
    echo "| pings/s, and server CPU µs per ping, $how | 1000 | ${R[wsgate,$how,rate]}, ${R[wsgate,$how,cpu]} | ${R[node,$how,rate]}, ${R[node,$how,cpu]} | $(ratio "${R[wsgate,$how,cpu]}" "${R[node,$how,cpu]}") (CPU) | |"
  done
  want idle && echo "| RSS per idle connection, bytes | ${R[wsgate,ready]} / ${R[node,ready]} | ${R[wsgate,perconn]} | ${R[node,perconn]} | $(ratio "${R[wsgate,perconn]}" "${R[node,perconn]}") | ≤ 0.2 |"
  echo
  want throughput && echo "Errors (msgs/sessions runs) wsgate: ${R[wsgate,err,1]} ${R[wsgate,err,100]} ${R[wsgate,err,1000]}; node: ${R[node,err,1]} ${R[node,err,100]} ${R[node,err,1000]}."
  want idle && echo "Idle RSS (kB) wsgate ${R[wsgate,rss0]} -> ${R[wsgate,rss1]}, node ${R[node,rss0]} -> ${R[node,rss1]}."
  echo
} >> "$report"
if ! want soak; then
  mkdir -p "$(dirname "$out")"
  cp "$report" "$out"
  cat "$report"
  exit 0
fi

# ---- soak: faults on, sessions and messages for $soak seconds ------------
start_server wsgate "$tmp/soak.log" --threads 2 --fault-rate 0.01 --fault-seed 1 --stats-interval 10 \
  --idle-timeout 30000 --close-timeout 2000
# Warm-up with the soak's own load, so that "start" is the steady state
# (allocator arenas, OpenSSL's caches) and growth after it is growth.
"$load" sessions --conns 200 --secs 5 --port "$SPORT" --token "$token" > /dev/null 2>&1
sleep 3
rss0=$(rss_kb "$SPID") fd0=$(nfds "$SPID")
"$load" sessions --conns 200 --secs "$soak" --port "$SPORT" --token "$token" > "$tmp/soak_s.out" 2>/dev/null &
l1=$!
peak=$rss0
while kill -0 $l1 2>/dev/null; do
  r=$(rss_kb "$SPID" 2>/dev/null) && [ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r
  sleep 1
done
wait $l1
sleep 3 # close timeouts of the last sessions
alive=yes
kill -0 "$SPID" 2>/dev/null || alive=no
rss1=$(rss_kb "$SPID" 2>/dev/null || echo 0) fd1=$(nfds "$SPID" 2>/dev/null || echo 0)
kill -TERM "$SPID"
wait "$SPID"
src=$?
check=$($py tests/clients/check_soak.py "$tmp/soak.log" "$tmp/diags.json" 2> "$tmp/soak_check.err")
crc=$?
growth=$($py -c 'import sys; a,b=int(sys.argv[1]),int(sys.argv[2]); print(f"{100*(b-a)/a:+.1f} %")' "$rss0" "$rss1")
{
  echo "Soak: \`wsgate serve --threads 2 --fault-rate 0.01 --fault-seed 1\`, $soak s of 200 concurrent"
  echo "connect/HS256/10 messages/close loops (wsload sessions; a failed session counts as an error and the loop goes on):"
  echo
  echo "| check | result |"
  echo "|---|---|"
  echo "| server alive at the end, exit status after SIGTERM | $alive, $src |"
  echo "| outcome lines vs the table (check_soak.py) | $check |"
  echo "| RSS after warm-up → peak → after all clients left (kB) | $rss0 → $peak → $rss1 ($growth) |"
  echo "| open fds after warm-up → after all clients left | $fd0 → $fd1 |"
  echo "| load generator | $(cat "$tmp/soak_s.out") |"
  echo
  echo "Last stats line: \`$(grep '"stats"' "$tmp/soak.log" | tail -1 | cut -c1-600)\`"
} >> "$report"
[ -s "$tmp/soak_check.err" ] && { echo; echo '```'; head -20 "$tmp/soak_check.err"; echo '```'; } >> "$report"
mkdir -p "$(dirname "$out")"
cp "$report" "$out"
cat "$report"
ok=0
[ "$alive" = yes ] && [ "$src" -eq 0 ] && [ $crc -eq 0 ] && [ "$fd1" -le "$fd0" ] || ok=1
$py -c 'import sys; a,b=int(sys.argv[1]),int(sys.argv[2]); sys.exit(0 if b <= a * 1.10 else 1)' "$rss0" "$rss1" || ok=1
[ $ok -eq 0 ] && echo "bench_serve: soak held" || echo "bench_serve: soak FAILED a check (see the table)"
exit $ok
