#!/usr/bin/env bash
# Mutation testing of the harness: applies each planted defect
# (tests/mutants/NNN-*.patch) in turn to ONE scratch copy of the tree, builds
# it incrementally (asan and fuzz presets), and runs
#   (a) the seed replays (each fuzz target's oracles over corpus/<t> and
#       corpus/regressions/<t>), the sweep (tests/sweep_test.sh, as ctest
#       runs it) and the fuzz targets' --sweep mode when the replay binaries
#       have one, in that order;
#   (b) each libFuzzer target for --budget seconds (-seed=1, -max_len and
#       -dict from fuzz/<t>.options) from a fresh copy of its corpus;
#   (c) the unit tests (ctest --preset asan without the harness's replay_*,
#       sweep and sweep_* tests, and without mutants_apply);
# then reverts the patch.  Prints which detector caught each mutant and how
# fast, and the kill rates of the harness alone (a + b) and of everything.
# Run tests/mutants/run.sh --help for the options.
set -uo pipefail

usage() {
  cat <<'EOF'
usage: tests/mutants/run.sh [options]
  --work DIR        scratch directory: the tree copy, builds, logs, results
                    (default: build/mutants under the repository)
  --budget SECS     libFuzzer budget per target and mutant (default 30)
  --only NAME...    only these mutants (full name, or its NNN number);
                    the names run until the next option
  --targets LIST    comma-separated fuzz targets (default: all five)
  --first           stop a mutant at its first kill (saves time; later
                    detectors are then reported as not run)
  --skip-fuzz       no libFuzzer runs (b)
  --skip-unit       no unit tests (c)
  --only-fuzz       only the libFuzzer runs (b), every selected target
                    (unless --first): no sweep, replays, --sweep modes,
                    unit tests or baseline; for comparing the targets'
                    times to detect (report.py's fuzz_session table)
  --resume          keep the results of mutants already measured in
                    WORK/results (default: measure the selected ones again)
  --no-baseline     do not check first that the unmutated tree passes every
                    detector except the fuzzers
  --jobs N          build and ctest parallelism (default 2)
  --json FILE       write the results as JSON
  --stryker FILE    also write a mutation-testing-report-schema (Stryker)
                    report, viewable with mutation-testing-elements
  --list            list the mutants and exit
  --help            this text
Exit status: 0 when every measured mutant was killed by the harness, 1 when
some survived it (or did not build), 2 on bad arguments.
EOF
}
die_usage() {
  echo "run.sh: $*" >&2
  usage >&2
  exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
work="" budget=30 first=0 skip_fuzz=0 skip_unit=0 only_fuzz=0 resume=0 baseline=1 jobs=2
json_out="" stryker_out="" list=0
targets_all="fuzz_handshake fuzz_jwt fuzz_context fuzz_frames fuzz_session"
targets=$targets_all
only=()
while [ $# -gt 0 ]; do
  case $1 in
    --help | -h) usage; exit 0 ;;
    --work) [ $# -ge 2 ] || die_usage "--work needs a directory"; work=$2; shift 2 ;;
    --budget)
      [ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge 1 ] || die_usage "--budget needs a whole number of seconds >= 1"
      budget=$2; shift 2 ;;
    --jobs)
      [ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge 1 ] || die_usage "--jobs needs a number >= 1"
      jobs=$2; shift 2 ;;
    --targets)
      [ $# -ge 2 ] || die_usage "--targets needs a list"
      targets=${2//,/ }
      for t in $targets; do [[ " $targets_all " == *" $t "* ]] || die_usage "unknown fuzz target '$t'"; done
      shift 2 ;;
    --only)
      shift
      while [ $# -gt 0 ] && [[ $1 != --* ]]; do only+=("$1"); shift; done
      [ ${#only[@]} -gt 0 ] || die_usage "--only needs at least one mutant" ;;
    --first) first=1; shift ;;
    --skip-fuzz) skip_fuzz=1; shift ;;
    --skip-unit) skip_unit=1; shift ;;
    --only-fuzz) only_fuzz=1; shift ;;
    --resume) resume=1; shift ;;
    --no-baseline) baseline=0; shift ;;
    --json) [ $# -ge 2 ] || die_usage "--json needs a file"; json_out=$2; shift 2 ;;
    --stryker) [ $# -ge 2 ] || die_usage "--stryker needs a file"; stryker_out=$2; shift 2 ;;
    --list) list=1; shift ;;
    *) die_usage "unknown argument '$1'" ;;
  esac
done
if [ $only_fuzz -eq 1 ]; then
  [ $skip_fuzz -eq 0 ] || die_usage "--only-fuzz and --skip-fuzz exclude each other"
  skip_unit=1 baseline=0
fi
work=${work:-$src/build/mutants}
python=/usr/bin/python3
[ -x $python ] || python=python3

# ---- the mutants -------------------------------------------------------------
mutants=()
for p in "$here"/[0-9][0-9][0-9]-*.patch; do
  [ -e "$p" ] || continue
  n=$(basename "$p" .patch)
  if [ ${#only[@]} -gt 0 ]; then
    keep=0
    for o in "${only[@]}"; do [ "$o" = "$n" ] || [ "$o" = "${n%%-*}" ] && keep=1; done
    [ $keep -eq 1 ] || continue
  fi
  mutants+=("$n")
done
if [ ${#only[@]} -gt 0 ]; then
  for o in "${only[@]}"; do
    found=0
    for n in "${mutants[@]}"; do [ "$o" = "$n" ] || [ "$o" = "${n%%-*}" ] && found=1; done
    [ $found -eq 1 ] || die_usage "no mutant '$o' in tests/mutants"
  done
fi
[ ${#mutants[@]} -gt 0 ] || die_usage "no mutants found in $here"
meta() { sed -n "$2p" "$here/$1.patch" | sed -E 's/^# (class: )?//'; }
if [ $list -eq 1 ]; then
  for n in "${mutants[@]}"; do printf '%-40s %-44s %s\n' "$n" "$(meta "$n" 2)" "$(meta "$n" 3)"; done
  exit 0
fi

for tool in cmake ctest git clang; do
  command -v $tool >/dev/null || { echo "run.sh: $tool is needed" >&2; exit 2; }
done

mkdir -p "$work" || { echo "run.sh: cannot create $work" >&2; exit 2; }
work=$(cd "$work" && pwd)
tree=$work/tree
logs=$work/logs
results=$work/results
mkdir -p "$tree" "$logs" "$results"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# ---- the scratch copy ----------------------------------------------------------
# Files are copied only when they differ (with a new mtime), so the builds in
# the copy stay incremental; files gone from the source are removed.  Only
# what the source tracks (or would track) is copied: no build output.
sync_tree() { # [SUBDIR]
  $python - "$src" "$tree" "${1:-}" <<'EOF'
import os, subprocess, sys, shutil, filecmp
src, tree, sub = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    out = subprocess.run(["git", "-C", src, "ls-files", "-co", "--exclude-standard", "-z"],
                         check=True, capture_output=True).stdout.decode()
    files = [f for f in out.split("\0") if f]
except Exception:
    files = []
    for d, dirs, fs in os.walk(src):
        rel = os.path.relpath(d, src)
        dirs[:] = [x for x in dirs if not (rel == "." and x in ("build", "reports", ".git"))]
        files += [os.path.normpath(os.path.join(rel, f)) for f in fs]
if sub:
    files = [f for f in files if f.startswith(sub + "/")]
keep = set()
for f in files:
    s, t = os.path.join(src, f), os.path.join(tree, f)
    if not os.path.isfile(s) or os.path.islink(s):
        continue
    keep.add(f)
    if os.path.isfile(t) and filecmp.cmp(s, t, shallow=False):
        continue
    os.makedirs(os.path.dirname(t), exist_ok=True)
    shutil.copyfile(s, t)
    shutil.copymode(s, t)
root = os.path.join(tree, sub) if sub else tree
for d, dirs, fs in os.walk(root):
    rel = os.path.relpath(d, tree)
    if rel == "." :
        dirs[:] = [x for x in dirs if x not in ("build", ".git")]
    for f in fs:
        r = os.path.normpath(os.path.join(rel, f))
        if r not in keep:
            os.remove(os.path.join(d, f))
EOF
}

log "syncing the scratch copy $tree"
sync_tree || { echo "run.sh: cannot copy the tree" >&2; exit 2; }
# Its own (empty) repository, so that git apply patches paths relative to the
# copy even when WORK is inside the source checkout.
[ -d "$tree/.git" ] || git -C "$tree" init -q || { echo "run.sh: git init failed in $tree" >&2; exit 2; }
# The tests that need ../shared (test vectors) find it beside the copy too.
if [ -d "$src/../shared" ] && [ ! -e "$work/shared" ]; then
  ln -s "$(cd "$src/../shared" && pwd)" "$work/shared"
fi

configure() { # PRESET
  [ -f "$tree/build/$1/CMakeCache.txt" ] && return 0
  (cd "$tree" && cmake --preset "$1" -DWSGATE_WERROR=ON) > "$logs/configure-$1.log" 2>&1
}
build() { # PRESET LOG [TARGET...]
  local preset=$1 lg=$2
  shift 2
  configure "$preset" || { cat "$logs/configure-$preset.log" >> "$lg"; return 1; }
  if [ $# -gt 0 ]; then
    (cd "$tree" && cmake --build --preset "$preset" -j"$jobs" --target "$@") >> "$lg" 2>&1
  else
    (cd "$tree" && cmake --build --preset "$preset" -j"$jobs") >> "$lg" 2>&1
  fi
}
asan=$tree/build/asan
fuzzbin=$tree/build/fuzz/fuzz
harness_targets="wsgate seeds $targets_all"

# ---- detectors ---------------------------------------------------------------
# Each prints nothing and returns 0 (passed) or 1 (failed = killed); the
# detail of a failure goes to $detail, the log to $logs/<mutant>/.
detail="" secs_override=""
first_line() { grep -m1 -E "$2" "$1" 2>/dev/null | cut -c1-200; }

det_sweep() { # LOGDIR
  local lg=$1/sweep.log t0
  t0=$(now)
  "$tree/tests/sweep_test.sh" "$asan/cli/wsgate" "$asan/tests/seeds" "$tree" "$1/sweep" > "$lg" 2>&1 && return 0
  secs_override=$(elapsed "$t0") # the time to detect is the first run's
  detail=$(first_line "$lg" 'FAIL|ERROR|runtime error')
  # tests/seeds writes a fresh ES256 token each run (randomized signatures),
  # and the bit it flips for auth_bad_signature sometimes makes the signature
  # non-base64url (AUTH_BASE64): a failure is a kill only when a second run
  # (new seeds) fails too.
  if "$tree/tests/sweep_test.sh" "$asan/cli/wsgate" "$asan/tests/seeds" "$tree" "$1/sweep2" > "$1/sweep2.log" 2>&1; then
    log "  sweep: failed once, passed on the second run (flaky seed): $detail"
    echo "flaky: $detail" > "$1/sweep.flaky"
    return 0
  fi
  return 1
}

replay_dirs() { # TARGET
  local d="$tree/corpus/$1"
  [ -d "$tree/corpus/regressions/$1" ] && d="$d $tree/corpus/regressions/$1"
  echo "$d"
}

det_replay() { # LOGDIR TARGET
  local lg=$1/replay_$2.log
  # shellcheck disable=SC2046
  "$asan/fuzz/$2" $(replay_dirs "$2") > "$lg" 2>&1 && return 0
  detail=$(first_line "$lg" 'wsgate fuzz|ERROR|runtime error|SUMMARY')
  [ -n "$detail" ] || detail="exit status nonzero"
  return 1
}

sweep_mode=0 # 1 when the replay binaries have a --sweep mode
det_sweepmode() { # LOGDIR TARGET
  local lg=$1/sweepmode_$2.log
  # shellcheck disable=SC2046
  "$asan/fuzz/$2" --sweep $(replay_dirs "$2") > "$lg" 2>&1 && return 0
  detail=$(first_line "$lg" 'wsgate fuzz|ERROR|runtime error|SUMMARY|fail')
  [ -n "$detail" ] || detail="exit status nonzero"
  return 1
}

opt() { # TARGET KEY: a value from fuzz/<t>.options
  sed -n -E "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*([^[:space:]]+).*/\1/p" "$tree/fuzz/$1.options" | head -1
}

det_fuzz() { # LOGDIR TARGET
  local lg=$1/$2.log corp=$1/corpus_$2 art=$1/artifacts_$2/ ml dict rc
  rm -rf "$corp" "$art" && mkdir -p "$corp" "$art"
  cp "$tree/corpus/$2"/* "$corp"/ 2>/dev/null
  [ -d "$tree/corpus/regressions/$2" ] &&
    find "$tree/corpus/regressions/$2" -type f ! -name '.*' -exec cp {} "$corp"/ \;
  ml=$(opt "$2" max_len)
  dict=$(opt "$2" dict)
  set -- "$fuzzbin/$2" -seed=1 -max_total_time="$budget" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$art" ${ml:+-max_len=$ml} ${dict:+-dict=$fuzzbin/$dict} "$corp"
  timeout -k 10 $((budget + 120)) "$@" > "$lg" 2>&1
  rc=$?
  [ $rc -eq 0 ] && return 0
  detail=$(first_line "$lg" 'wsgate fuzz|ERROR: |runtime error|SUMMARY|ALARM|out-of-memory')
  [ -n "$detail" ] || detail="exit status $rc"
  return 1
}

det_unit() { # LOGDIR
  local lg=$1/unit.log
  (cd "$tree" && ctest --preset asan -j"$jobs" --stop-on-failure \
    -E '^(replay_.*|sweep|sweep_.*|mutants_apply)$') > "$lg" 2>&1 && return 0
  detail=$(grep -E '\*\*\*Failed|\(Failed\)|\(Subprocess aborted\)|Exception|Timeout' "$lg" |
    sed -E 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: //; s/ \.+/ /' | head -3 | tr '\n' ';' | cut -c1-200)
  [ -n "$detail" ] || detail="ctest failed"
  return 1
}

# ---- one mutant ----------------------------------------------------------------
# Results: $results/<name>.json, one JSON object per line (python reads them).
jstr() { $python -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
record() { # FILE DETECTOR STATUS SECS DETAIL
  printf '{"detector":%s,"status":"%s","secs":%s,"detail":%s}\n' \
    "$(jstr "$2")" "$3" "$4" "$(jstr "$5")" >> "$1"
}

run_detector() { # RESULT LOGDIR NAME FUNCTION ARGS...: 0 killed, 1 survived
  local res=$1 ld=$2 name=$3 fn=$4 t0 secs
  shift 4
  detail=""
  secs_override=""
  t0=$(now)
  if $fn "$ld" "$@"; then
    secs=$(elapsed "$t0")
    record "$res" "$name" passed "$secs" ""
    log "  $name: passed (${secs} s)"
    return 1
  fi
  secs=${secs_override:-$(elapsed "$t0")}
  record "$res" "$name" killed "$secs" "$detail"
  log "  $name: KILLED in ${secs} s: $detail"
  return 0
}

# Runs every selected detector on the tree as it is; RESULT gets the lines.
run_detectors() { # RESULT LOGDIR MODE(mutant|baseline)
  local res=$1 ld=$2 mode=$3 killed=0 t
  mkdir -p "$ld"
  if [ $only_fuzz -eq 1 ]; then
    :
  elif ! build asan "$ld/build-asan.log" $harness_targets; then
    record "$res" build-asan failed 0 "$(grep -m1 -E 'error' "$ld/build-asan.log" | cut -c1-200)"
    log "  build (asan) FAILED: see $ld/build-asan.log"
    return 2
  fi
  # Cheapest first: the seed replays take well under a second each, the
  # sweep about ten.
  for t in $targets_all; do
    [ $only_fuzz -eq 1 ] && break
    [ $first -eq 1 ] && [ $killed -eq 1 ] && break
    run_detector "$res" "$ld" "replay:$t" det_replay "$t" && killed=1
  done
  if [ $only_fuzz -eq 0 ] && ! { [ $first -eq 1 ] && [ $killed -eq 1 ]; }; then
    run_detector "$res" "$ld" sweep det_sweep && killed=1
  fi
  if [ $sweep_mode -eq 1 ] && [ $only_fuzz -eq 0 ]; then
    for t in $sweep_targets; do
      [ $first -eq 1 ] && [ $killed -eq 1 ] && break
      run_detector "$res" "$ld" "sweep:$t" det_sweepmode "$t" && killed=1
    done
  fi
  if [ $skip_fuzz -eq 0 ] && [ "$mode" = mutant ] && ! { [ $first -eq 1 ] && [ $killed -eq 1 ]; }; then
    if [ -n "$fuzz_targets" ] && ! build fuzz "$ld/build-fuzz.log" $fuzz_targets; then
      record "$res" build-fuzz failed 0 "$(grep -m1 -E 'error' "$ld/build-fuzz.log" | cut -c1-200)"
      log "  build (fuzz) FAILED: see $ld/build-fuzz.log"
      return 2
    fi
    for t in $fuzz_targets; do
      [ $first -eq 1 ] && [ $killed -eq 1 ] && break
      run_detector "$res" "$ld" "fuzz:$t" det_fuzz "$t" && killed=1
    done
  fi
  if [ $skip_unit -eq 0 ] && ! { [ $first -eq 1 ] && [ $killed -eq 1 ]; }; then
    if ! build asan "$ld/build-asan.log"; then
      record "$res" build-asan failed 0 "$(grep -m1 -E 'error' "$ld/build-asan.log" | cut -c1-200)"
      log "  build (asan, tests) FAILED: see $ld/build-asan.log"
      return 2
    fi
    run_detector "$res" "$ld" unit det_unit && killed=1
  fi
  return $((1 - killed))
}

cleanup() {
  # An interrupted run leaves at most one patch applied: undo it.
  [ -n "${applied:-}" ] && (cd "$tree" && git apply -R "$here/$applied.patch" 2>/dev/null)
}
applied=""
trap 'cleanup; exit 130' INT TERM

# ---- baseline ----------------------------------------------------------------
# The --sweep mode of the replay binaries (the fault sweep over each target's
# inputs): used for the targets whose unmutated binary accepts it (exit 0);
# exit 2 means the target has no such mode.
sweep_targets=""
[ $only_fuzz -eq 1 ] ||
  build asan "$logs/build-baseline.log" $harness_targets ||
  { echo "run.sh: the unmutated tree does not build; see $logs/build-baseline.log" >&2; exit 1; }
for t in $targets_all; do
  [ $only_fuzz -eq 1 ] && break
  # shellcheck disable=SC2046
  "$asan/fuzz/$t" --sweep $(replay_dirs "$t") > "$logs/sweepmode-probe-$t.log" 2>&1
  case $? in
    0) sweep_targets="$sweep_targets $t" ;;
    2) log "$t has no --sweep mode: not used" ;;
    *) echo "run.sh: $t --sweep fails on the unmutated tree (see $logs/sweepmode-probe-$t.log): fix that first" >&2
       exit 1 ;;
  esac
done
[ -n "$sweep_targets" ] && sweep_mode=1
# The libFuzzer targets that build unmutated; one that does not is left out
# (and said so) rather than counted as a compile error of every mutant.
fuzz_targets=""
fuzz_broken=""
if [ $skip_fuzz -eq 0 ]; then
  for t in $targets; do
    if build fuzz "$logs/build-baseline-fuzz.log" "$t"; then
      fuzz_targets="$fuzz_targets $t"
    else
      fuzz_broken="$fuzz_broken $t"
      log "the fuzz preset does not build $t unmutated (see $logs/build-baseline-fuzz.log): left out"
    fi
  done
fi

if [ $baseline -eq 1 ]; then
  log "baseline: the unmutated tree against every detector but the fuzzers"
  rm -f "$work/baseline.json"
  saved_first=$first
  first=0
  run_detectors "$work/baseline.json" "$logs/baseline" baseline
  rc=$?
  first=$saved_first
  if [ $rc -ne 1 ]; then
    echo "run.sh: the unmutated tree already fails a detector (see $work/baseline.json and $logs/baseline/): fix that first" >&2
    exit 1
  fi
fi

# ---- the mutants -------------------------------------------------------------
total=${#mutants[@]} i=0
for n in "${mutants[@]}"; do
  i=$((i + 1))
  res=$results/$n.json
  if [ $resume -eq 1 ] && [ -s "$res" ] && grep -q '"detector":"end"' "$res"; then
    log "[$i/$total] $n: measured before (--resume)"
    continue
  fi
  rm -f "$res"
  rm -rf "$logs/$n"
  log "[$i/$total] $n ($(meta "$n" 2))"
  sync_tree core
  if ! (cd "$tree" && git apply "$here/$n.patch") > "$logs/$n.apply.log" 2>&1 ||
    diff -rq "$src/core" "$tree/core" > /dev/null; then
    [ -s "$logs/$n.apply.log" ] || echo "the patch changed nothing under core/" > "$logs/$n.apply.log"
    record "$res" apply failed 0 "$(head -1 "$logs/$n.apply.log")"
    record "$res" end done 0 ""
    log "  does not apply: $(head -1 "$logs/$n.apply.log")"
    continue
  fi
  applied=$n
  t0=$(now)
  run_detectors "$res" "$logs/$n" mutant
  record "$res" end done "$(elapsed "$t0")" ""
  (cd "$tree" && git apply -R "$here/$n.patch") || sync_tree core
  applied=""
done

# ---- report ------------------------------------------------------------------
args=(--results "$results" --src "$src" --budget "$budget" --first "$first"
  --skip-fuzz "$skip_fuzz" --skip-unit "$skip_unit" --only-fuzz "$only_fuzz" --sweep-mode "$sweep_mode" --targets "$targets" --fuzz-broken "${fuzz_broken# }")
[ -n "$json_out" ] && args+=(--json "$json_out")
[ -n "$stryker_out" ] && args+=(--stryker "$stryker_out")
$python "$here/report.py" "${args[@]}" "${mutants[@]}"
