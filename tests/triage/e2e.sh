#!/usr/bin/env bash
# End-to-end test of `wsgate triage` on the planted defects (tests/mutants).
#
#   tests/triage/e2e.sh [--no-minimize] [--reuse-builds] WORKDIR
#
# --reuse-builds keeps the scratch tree and binaries of an earlier run in
# WORKDIR (to iterate on the triage tool; the tool itself always runs from
# this checkout).
# In WORKDIR (created; e.g. build/triage-e2e) it clones this checkout (plus
# its uncommitted changes) into a scratch tree - the real tree is never
# patched - and builds there, for the real code and for each defect, the
# sanitizer replay binaries (asan preset) and, unless --no-minimize, the
# libFuzzer binaries (fuzz preset).  It then makes crash files for each
# defect deterministically (tests/triage/make_inputs.py) and checks:
#   * each defect's files are classified as that defect (type, state,
#     security flag, severity, a project location);
#   * several files of one bug are one bucket; two bugs (001 and 003 planted
#     together) are two buckets;
#   * minimization keeps only a smaller input with the same state;
#   * --add-regression writes a file that is not git-ignored, and the
#     replay ctest then fails on the planted build and passes on the real
#     one.
# Prints one line per check and "N passed, N failed"; exit 1 when a check
# failed, 2 on bad arguments.
set -euo pipefail
usage() { echo "usage: $0 [--no-minimize] [--reuse-builds] WORKDIR" >&2; exit 2; }
minimize=1 reuse=0
while [ $# -gt 1 ]; do
  case "$1" in
    --no-minimize) minimize=0 ;;
    --reuse-builds) reuse=1 ;;
    *) usage ;;
  esac
  shift
done
[ $# -eq 1 ] || usage
case "$1" in -*) usage ;; esac
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$1"
work=$(cd "$1" && pwd)
src=$work/src
py=/usr/bin/python3
jobs=2
t0=$(date +%s)

log() { echo "e2e: $*" >&2; }

# ---- the scratch tree ------------------------------------------------------
if [ $reuse = 1 ] && [ -d "$work/bin/real" ] && [ -d "$src/.git" ]; then
  log "reusing the scratch tree and binaries in $work"
else
  reuse=0
  rm -rf "$src" "$work/bin"
  git clone -q --no-hardlinks "$root" "$src"
  (cd "$root" && git ls-files -m -o --exclude-standard -z) |
    (cd "$root" && xargs -0 -r cp --parents -t "$src")
  # The clone's HEAD is the last commit; commit the working tree on top so
  # the patches apply and `git status` tells new files from ignored ones.
  git -C "$src" add -A >/dev/null
  git -C "$src" -c user.name=e2e -c user.email=e2e@localhost commit -q -m wip --allow-empty
fi
rm -rf "$work/inputs" "$work/out"

declare -A target_of=([001]=fuzz_handshake [002]=fuzz_frames [003]=fuzz_context [004]=fuzz_frames)
targets="fuzz_handshake fuzz_context fuzz_frames"

configure() {
  (cd "$src" && cmake --preset asan >/dev/null)
  if [ $minimize = 1 ]; then (cd "$src" && cmake --preset fuzz >/dev/null); fi
}

# build NAME: builds the targets in the scratch tree as it is now and keeps
# the binaries in $work/bin/NAME/{asan,fuzz}/fuzz/.
build() {
  local name=$1 t
  log "building $name"
  # shellcheck disable=SC2086
  (cd "$src" && cmake --build --preset asan -j$jobs --target wsgate $(for t in $targets; do printf -- '--target %s ' $t; done) >/dev/null)
  mkdir -p "$work/bin/$name/asan/fuzz" "$work/bin/$name/asan/cli"
  for t in $targets; do cp "$src/build/asan/fuzz/$t" "$work/bin/$name/asan/fuzz/"; done
  # wsgate, to run the decoded `wsgate session` command of the trail.
  cp "$src/build/asan/cli/wsgate" "$work/bin/$name/asan/cli/"
  if [ $minimize = 1 ]; then
    # shellcheck disable=SC2086
    (cd "$src" && cmake --build --preset fuzz -j$jobs $(for t in $targets; do printf -- '--target %s ' $t; done) >/dev/null)
    mkdir -p "$work/bin/$name/fuzz/fuzz"
    for t in $targets; do cp "$src/build/fuzz/fuzz/$t" "$work/bin/$name/fuzz/fuzz/"; done
  fi
}

# A patch that no longer applies exactly (the core moved on) is applied
# with patch's fuzz, and said so.
plant() {
  local m p
  for m in "$@"; do
    p=$(echo "$src"/tests/mutants/"$m"-*.patch)
    git -C "$src" apply "$p" 2>/dev/null ||
      { log "$m: git apply failed, applying with fuzz"; (cd "$src" && patch -s -p1 -F3 < "$p"); }
  done
}
unplant() { git -C "$src" checkout -q -- core/; find "$src/core" -name "*.orig" -delete; }

if [ $reuse = 0 ]; then
  configure
  build real
  for m in 001 002 003 004; do plant $m; build $m; unplant; done
  plant 001 003; build 001+003; unplant
fi
tb=$(( $(date +%s) - t0 ))
log "builds done in ${tb} s"

# ---- crash files -------------------------------------------------------------
for m in 001 002 003 004; do
  $py "$root/tests/triage/make_inputs.py" $m "$work/inputs/$m" \
    "$work/bin/$m/asan/fuzz/fuzz_context" >/dev/null
done

# triage NAME BUILD ARGS...: JSON into $work/out/NAME.json
triage() {
  local name=$1 b=$2; shift 2
  local fz=()
  [ $minimize = 1 ] && fz=(--fuzz-build "$work/bin/$b/fuzz") || fz=(--no-minimize)
  mkdir -p "$work/out"
  local s; s=$(date +%s%N)
  WSGATE_SOURCE_ROOT=$src $py "$root/tools/triage.py" --json --out "$work/out/$name.work" \
    --build "$work/bin/$b/asan" "${fz[@]}" --source-root "$src" "$@" > "$work/out/$name.json"
  echo "$name $(( ($(date +%s%N) - s) / 1000000 ))" >> "$work/out/times"
}

for m in 001 002 003 004; do triage "$m" "$m" "$work/inputs/$m"; done
triage two-bugs 001+003 "$work/inputs/001" "$work/inputs/003"
triage real real --runs 2 "$work/inputs/001" "$work/inputs/003" "$work/inputs/004"

# ---- regressions: not ignored; ctest fails planted, passes real -------------
# 002 and 003 (the leak and the undiagnosed 1011): the replay ctest with the
# regression added fails on the planted build and passes on the real one, and
# the stored file alone crashes the planted binary and not the real one
# (whether the seed corpora already reach the defect is reported as info).
ctest_replay() { (cd "$src" && ctest --preset asan -R "^replay_$1\$" >/dev/null 2>&1) && echo pass || echo fail; }
reg_checks=()
for m in 002 003; do
  t=${target_of[$m]}
  plant $m
  (cd "$src" && cmake --build --preset asan -j$jobs --target "$t" >/dev/null)
  before=$(ctest_replay "$t")
  triage "reg-$m" "$m" --add-regression --regressions "$src/corpus/regressions" "$work/inputs/$m"
  f=$($py -c "import json,sys; print(json.load(open(sys.argv[1]))['buckets'][0]['regression']['path'])" "$work/out/reg-$m.json")
  rel=${f#"$src"/}
  if git -C "$src" check-ignore -q "$rel"; then st=ignored; else st=$(git -C "$src" status --porcelain -- "$rel" | cut -c1-2); fi
  planted=$(ctest_replay "$t")
  unplant
  (cd "$src" && cmake --build --preset asan -j$jobs --target "$t" >/dev/null)
  real=$(ctest_replay "$t")
  # The stored file alone: it must crash the planted binary, not the real.
  "$work/bin/$m/asan/fuzz/$t" "$src/$rel" >/dev/null 2>&1 && alone_p=pass || alone_p=fail
  "$work/bin/real/asan/fuzz/$t" "$src/$rel" >/dev/null 2>&1 && alone_r=pass || alone_r=fail
  reg_checks+=("$m|$rel|$st|$before|$planted|$real|$alone_p|$alone_r")
  rm -f "$f"
done

rc=0
$py "$root/tests/triage/check_e2e.py" "$work/out" $minimize "${reg_checks[@]}" || rc=$?
log "total $(( $(date +%s) - t0 )) s (builds ${tb} s)"
exit $rc
