#!/usr/bin/env bash
# The gate on planted defects (slow: builds; not a ctest).  Copies the tree
# (tracked and untracked-but-not-ignored files) to a scratch directory, then
# for each planted defect: applies tests/mutants/<name>.patch there, runs
# `tools/gate.py --budget BUDGET` in the copy, reverts the patch, and checks
#   - the gate exits 1 (NO-SHIP);
#   - the expected bucket type is in metrics.json, junit.xml (a failure),
#     findings.sarif (a result) and summary.md;
# and prints the gate's wall time and the time to its first finding.  The
# unpatched copy runs first and must be SHIP (exit 0), unless --no-clean.
#   tests/gate/planted.sh [--work DIR] [--budget DUR] [--skip STAGES] [--no-clean] [NAME...]
set -uo pipefail
usage() {
  cat <<'EOF'
usage: tests/gate/planted.sh [--work DIR] [--budget DUR] [--skip STAGES] [--no-clean] [NAME...]
  --work DIR      scratch directory (default: build/gate-planted under the repository)
  --budget DUR    the gate's --budget (default 2m)
  --skip STAGES   passed to the gate's --skip (default: bench,mutants)
  --no-clean      do not run the unpatched tree first
  NAME...         mutants (tests/mutants/NAME.patch); default: the four of issue 10
                  (001-hs-query-token-overflow 002-frames-free-leaks-wslay-context
                   003-ctx-idgen-no-diag 004-frames-msg-use-after-free)
Exit 0 when every check passed, 1 when one failed, 2 on bad arguments.
EOF
}
die_usage() { echo "planted.sh: $*" >&2; usage >&2; exit 2; }
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$src/build/gate-planted budget=2m skip=bench,mutants clean=1
names=()
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --work) [ $# -ge 2 ] || die_usage "--work needs a directory"; work=$2; shift 2 ;;
    --budget) [ $# -ge 2 ] || die_usage "--budget needs a duration"; budget=$2; shift 2 ;;
    --skip) [ $# -ge 2 ] || die_usage "--skip needs a list"; skip=$2; shift 2 ;;
    --no-clean) clean=0; shift ;;
    -*) die_usage "unknown option $1" ;;
    *) names+=("$1"); shift ;;
  esac
done
[[ $budget =~ ^([0-9]+[hms]?)+$ ]] || die_usage "bad --budget '$budget'"
[ ${#names[@]} -gt 0 ] || names=(001-hs-query-token-overflow 002-frames-free-leaks-wslay-context
                                 003-ctx-idgen-no-diag 004-frames-msg-use-after-free)
for n in "${names[@]}"; do
  [ -f "$src/tests/mutants/$n.patch" ] || die_usage "no tests/mutants/$n.patch"
done
git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || { echo "planted.sh: $src is not a git checkout" >&2; exit 2; }

# Expected bucket type (case-insensitive regex) per mutant.
expect() {
  case $1 in
    001-*) echo 'heap-buffer-overflow' ;;
    002-*) echo 'leak' ;;
    003-*) echo '1011|unexplained' ;;
    004-*) echo 'use-after-free' ;;
    *) echo '.' ;;
  esac
}

tree=$work/tree
mkdir -p "$tree" "$work/reports"
# Refresh the copy (keeps its build/ so that later runs are incremental).
(cd "$src" && git ls-files -z --cached --others --exclude-standard) |
  (cd "$src" && xargs -0 cp --parents -t "$tree" 2>/dev/null)
# A repository of its own (empty), so that what git says in the copy (the
# corpus_tracked test) is about the copy, not about the checkout around it.
[ -d "$tree/.git" ] || git -C "$tree" init -q || { echo "planted.sh: git init failed in $tree" >&2; exit 2; }
fail=0
results=()
run_gate() { # label -> sets rc, wall
  local label=$1 start
  start=$(date +%s.%N)
  /usr/bin/python3 "$tree/tools/gate.py" --budget "$budget" --skip "$skip" --no-tty \
    --reports "$work/reports/$label" --work "$work/gate-work" > "$work/$label.log" 2>&1
  rc=$?
  wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
}
check_report() { # label, regex
  /usr/bin/python3 - "$work/reports/$1/latest" "$2" <<'PY'
import json, os, re, sys
d, rx = sys.argv[1], re.compile(sys.argv[2], re.I)
m = json.load(open(os.path.join(d, "metrics.json")))
bs = [b for b in m["findings"] if rx.search(b["type"]) or rx.search(" ".join(b["state"]))]
bs = list({b["id"]: b for b in bs}.values())
errs = []
if not bs:
    errs.append("no bucket matching /%s/ in metrics.json (buckets: %s)" % (sys.argv[2], [b["type"] for b in m["findings"]]))
junit = open(os.path.join(d, "junit.xml")).read()
sarif = json.load(open(os.path.join(d, "findings.sarif")))
md = open(os.path.join(d, "summary.md")).read()
for b in bs[:1]:
    if b["id"] not in md:
        errs.append("bucket %s not in summary.md" % b["id"])
    if b["id"] not in junit or "<failure" not in junit:
        errs.append("bucket %s not a failure in junit.xml" % b["id"])
    fps = [json.dumps(r.get("partialFingerprints", {})) for r in sarif["runs"][0]["results"]]
    if not any(b["id"] in f for f in fps) and not any(rx.search(r.get("ruleId", "") + r["message"]["text"]) for r in sarif["runs"][0]["results"]):
        errs.append("bucket %s not in findings.sarif" % b["id"])
first = m.get("first_finding_s") or {}
print("buckets: %s; first finding at %s s (%s)" % (
    ", ".join("%s [%s]" % (b["type"].replace("\n", " "), " / ".join(b["state"])) for b in bs) or "-",
    min(first.values()) if first else "?", ", ".join("%s %s s" % kv for kv in sorted(first.items(), key=lambda kv: kv[1]))))
for e in errs:
    print("FAIL: " + e)
sys.exit(1 if errs else 0)
PY
}

if [ $clean -eq 1 ]; then
  run_gate clean
  echo "clean tree: exit $rc in $wall s (expected 0)"
  [ $rc -eq 0 ] || { fail=1; grep -E 'verdict|FINDING' "$work/clean.log" | tail -5; }
  results+=("| (none) | $rc | $wall | - |")
fi
for n in "${names[@]}"; do
  patch=$src/tests/mutants/$n.patch
  patch -s -p1 -d "$tree" < "$patch" || { echo "FAIL: $n does not apply"; fail=1; continue; }
  run_gate "$n"
  patch -s -R -p1 -d "$tree" < "$patch" || { echo "planted.sh: cannot revert $n in $tree" >&2; exit 2; }
  line=$(check_report "$n" "$(expect "$n")")
  ok=$?
  echo "$n: exit $rc in $wall s (expected 1); $line"
  [ $rc -eq 1 ] && [ $ok -eq 0 ] || fail=1
  results+=("| $n | $rc | $wall | ${line%%$'\n'*} |")
done
echo
echo "| mutant | gate exit | gate wall s | buckets, time to first finding |"
echo "|---|---:|---:|---|"
printf '%s\n' "${results[@]}"
exit $fail
