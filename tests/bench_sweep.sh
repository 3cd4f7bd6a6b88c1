#!/usr/bin/env bash
# Benchmark of the fault sweep (not a timed test): writes the seed inputs of
# every session stage, sweeps each group (every hit of every kind, failed
# once and from there on) and prints points per input, in total, points per
# second and the wall time of the whole sweep.  Target: <= 60 s on 2 cores.
#   bench_sweep.sh BUILD_DIR [WORKDIR]
set -euo pipefail
usage() { local rc=${1:-2} fd=2; [ "$rc" -eq 0 ] && fd=1; echo "usage: bench_sweep.sh BUILD_DIR [WORKDIR]  (BUILD_DIR: e.g. build/release, with cli/wsgate and tests/seeds)" >&"$fd"; exit "$rc"; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
case $1 in -h | --help) usage 0 ;; esac
build=$1
[ -x "$build/cli/wsgate" ] && [ -x "$build/tests/seeds" ] ||
  { echo "bench_sweep.sh: $build has no cli/wsgate or tests/seeds (build it first)" >&2; usage; }
src=$(cd "$(dirname "$0")/.." && pwd)
work=${2:-$build/bench-sweep}
ws=$build/cli/wsgate
rm -rf "$work" && mkdir -p "$work"
"$build/tests/seeds" "$work/seeds"
start=$(date +%s.%N)
failing=0
for group in default fma policy; do
  # Exit 1 (a point broke the promise) still writes every line: report the
  # figures and fail at the end, so the main job's report is never blank.
  rc=0
  "$ws" sweep --keys "$src/tests/keys/jwks.json" --config "$work/seeds/$group/config.json" \
    --now 1700000000 --json-out "$work/$group.failures.jsonl" "$work/seeds/$group"/*.bin \
    > "$work/$group.out" 2> "$work/$group.err" || rc=$?
  if [ $rc -eq 1 ]; then
    failing=1
  elif [ $rc -ne 0 ]; then
    echo "bench_sweep.sh: sweep of $group exited $rc:" >&2
    tail -n 5 "$work/$group.err" >&2
    exit 1
  fi
done
end=$(date +%s.%N)
/usr/bin/python3 - "$work" "$start" "$end" <<'PY'
import json, os, sys
work, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
rows, summ = [], []
for g in ("default", "fma", "policy"):
    lines = [json.loads(l) for l in open(os.path.join(work, g + ".out"))]
    summ.append(lines[-1])
    for l in lines[:-1]:
        rows.append((g + "/" + os.path.basename(l["input"])[:-4], l["clean"], l["points"], l["absorbed"], l["diagnosed"], l["failures"], l["ms"]))
print("| input | clean outcome | points | absorbed | diagnosed | failing | ms |")
print("|---|---|---:|---:|---:|---:|---:|")
for r in rows:
    print("| %s | %s | %d | %d | %d | %d | %.1f |" % r)
tot = {k: sum(s[k] for s in summ) for k in ("inputs", "points", "absorbed", "diagnosed", "unexplained", "misattributed", "leaked", "crashed")}
hits = {k: sum(s["hits"][k] for s in summ) for k in summ[0]["hits"]}
wall = end - start
print()
print("inputs %d, fault points %d (%.0f per input; clean-run hits %s)" % (tot["inputs"], tot["points"], tot["points"] / tot["inputs"], ", ".join("%s %d" % kv for kv in hits.items())))
print("absorbed %d, diagnosed %d, unexplained %d, misattributed %d, leaked %d, crashed %d" % tuple(tot[k] for k in ("absorbed", "diagnosed", "unexplained", "misattributed", "leaked", "crashed")))
print("wall time of the full sweep %.2f s, %.0f points/s (target: <= 60 s)" % (wall, tot["points"] / wall))
PY
if [ $failing -ne 0 ]; then
  echo "FAIL: the sweep found failing points; the first ones:"
  cat "$work"/*.failures.jsonl | head -n 5
  exit 1
fi
