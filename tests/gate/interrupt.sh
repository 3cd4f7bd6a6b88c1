#!/usr/bin/env bash
# An interrupted gate still writes its report (slow: runs the gate; not a
# ctest).  Starts `tools/gate.py --budget BUDGET` on this tree with its own
# reports and work directories, sends SIGINT once fuzzing has run for a few
# seconds, and checks: the gate exits within 60 s with 2 (nothing found) or 1
# (something found before the signal); summary.md says INCOMPLETE REPORT;
# metrics.json has "incomplete"; junit.xml validates against
# tests/gate/junit.xsd and has the failed "gate complete" case; no fuzzer of
# that run is left running; the run's private fuzzing directory is gone;
# the crash files found before the signal (if any) are in crashes/.
#   tests/gate/interrupt.sh [--work DIR] [--budget DUR] [--after SECS]
set -uo pipefail
usage() {
  cat <<'EOF'
usage: tests/gate/interrupt.sh [--work DIR] [--budget DUR] [--after SECS]
  --work DIR     reports and working corpus of the test (default: build/gate-interrupt)
  --budget DUR   the gate's budget (default 2m)
  --after SECS   seconds of fuzzing before SIGINT (default 5)
Exit 0 when every check passed, 1 when one failed, 2 on bad arguments.
EOF
}
die_usage() { echo "interrupt.sh: $*" >&2; usage >&2; exit 2; }
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$src/build/gate-interrupt budget=2m after=5
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --work) [ $# -ge 2 ] || die_usage "--work needs a directory"; work=$2; shift 2 ;;
    --budget) [ $# -ge 2 ] || die_usage "--budget needs a duration"; budget=$2; shift 2 ;;
    --after) [[ ${2:-} =~ ^[0-9]+$ ]] || die_usage "--after needs a number of seconds"; after=$2; shift 2 ;;
    *) die_usage "unknown argument $1" ;;
  esac
done
[[ $budget =~ ^([0-9]+[hms]?)+$ ]] || die_usage "bad --budget '$budget'"
rm -rf "$work/reports" && mkdir -p "$work"
log=$work/gate.log
/usr/bin/python3 "$src/tools/gate.py" --budget "$budget" --skip bench --no-tty \
  --reports "$work/reports" --work "$work/gate-work" > "$log" 2>&1 &
pid=$!
fail=0
bad() { echo "FAIL: $*"; fail=1; }
# Wait for the fuzz stage (builds may take minutes on a cold tree).
for _ in $(seq 1 900); do
  grep -q 'fuzz: [0-9]* targets' "$log" && break
  kill -0 $pid 2>/dev/null || break
  sleep 1
done
grep -q 'fuzz: [0-9]* targets' "$log" || { bad "the gate never reached the fuzz stage"; tail -5 "$log"; }
sleep "$after"
sent=$(date +%s)
kill -INT $pid 2>/dev/null
rc=""
for _ in $(seq 1 60); do
  kill -0 $pid 2>/dev/null || { wait $pid; rc=$?; break; }
  sleep 1
done
if [ -z "$rc" ]; then
  bad "the gate did not stop within 60 s of SIGINT"
  kill -KILL $pid 2>/dev/null
  wait $pid 2>/dev/null
fi
echo "gate exited $rc, $(( $(date +%s) - sent )) s after SIGINT"
[ "$rc" = 1 ] || [ "$rc" = 2 ] || bad "exit status $rc (expected 1 or 2)"
rep=$work/reports/latest
[ -f "$rep/summary.md" ] || bad "no summary.md"
grep -q 'INCOMPLETE REPORT' "$rep/summary.md" 2>/dev/null || bad "summary.md not marked incomplete"
/usr/bin/python3 - "$rep" <<'PY' || fail=1
import json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "metrics.json")))
errs = []
if not m.get("incomplete"):
    errs.append("metrics.json: incomplete not set")
if m.get("verdict") == "SHIP":
    errs.append("an interrupted gate said SHIP")
for f, _t in [(c, None) for c in m.get("crash_files", [])]:
    if not os.path.exists(os.path.join(d, f)):
        errs.append("crash file %s lost" % f)
print("verdict %s (%s); %d crash files kept; fuzz targets started: %s" % (
    m.get("verdict"), m.get("incomplete"), len(m.get("crash_files", [])), ", ".join(m.get("fuzz", {}))))
for e in errs:
    print("FAIL: " + e)
sys.exit(1 if errs else 0)
PY
if xmllint --noout --schema "$src/tests/gate/junit.xsd" "$rep/junit.xml" 2>/dev/null; then
  grep -q 'name="gate complete"' "$rep/junit.xml" || bad "junit.xml lacks the failed 'gate complete' case"
else
  bad "junit.xml does not validate"
fi
run=$(basename "$(readlink "$rep")")
[ ! -d "$work/gate-work/runs/$run" ] || bad "the run's fuzzing directory was left behind"
# Every fuzzer of this run had the report directory in its -artifact_prefix.
left=$(pgrep -f -- "-artifact_prefix=$work/reports/$run/" || true)
[ -z "$left" ] || bad "fuzzers still running: $left"
exit $fail
