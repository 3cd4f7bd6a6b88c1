#!/usr/bin/env bash
# Runs AFL++ on one fuzz target: builds the `afl` preset (afl-clang-fast +
# ASan + UBSan, AFL++'s driver) and the `afl-cmplog` preset (the same with
# AFL_LLVM_CMPLOG=1, so afl-fuzz -c solves magic-byte compares), seeds from
# corpus/<target>/ and the fixed crashes, the target's dictionary, then
# afl-fuzz for SECS seconds (default: until stopped).  afl-fuzz exits 0 even
# after crashes, so this script checks OUT/default/crashes/ and fails when it
# holds anything.
#   fuzz/afl.sh TARGET [SECS] [OUT]
set -euo pipefail
usage() {
  local rc=${1:-2} fd=2
  [ "$rc" -eq 0 ] && fd=1
  echo "usage: fuzz/afl.sh TARGET [SECS] [OUT]" >&"$fd"
  echo "  TARGET: fuzz_handshake, fuzz_jwt, fuzz_context, fuzz_frames or fuzz_session" >&"$fd"
  echo "  SECS: whole seconds to fuzz (default 0: until stopped); OUT: afl-fuzz output (default build/afl-out/TARGET)" >&"$fd"
  exit "$rc"
}
[ $# -ge 1 ] && [ $# -le 3 ] || usage
case $1 in
  fuzz_handshake | fuzz_jwt | fuzz_context | fuzz_frames | fuzz_session) ;;
  -h | --help) usage 0 ;;
  *) echo "fuzz/afl.sh: unknown target '$1'" >&2; usage ;;
esac
[[ ${2:-0} =~ ^[0-9]+$ ]] || { echo "fuzz/afl.sh: SECS must be a whole number, got '$2'" >&2; usage; }
cd "$(dirname "$0")/.."
t=$1
secs=${2:-0}
out=${3:-build/afl-out/$t}
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset afl >/dev/null && cmake --build --preset afl -j"$jobs" --target "$t" >/dev/null
AFL_LLVM_CMPLOG=1 cmake --preset afl-cmplog >/dev/null
AFL_LLVM_CMPLOG=1 cmake --build --preset afl-cmplog -j"$jobs" --target "$t" >/dev/null
in=build/afl-in/$t
rm -rf "$in" "$out" && mkdir -p "$in" "$(dirname "$out")"
cp corpus/"$t"/* "$in"/
find corpus/regressions/"$t" -type f ! -name '.*' -exec cp {} "$in"/ \;
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
export ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=0
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1
limit=()
[ "$secs" -gt 0 ] && limit=(-V "$secs")
# The same longest input as libFuzzer gets (max_len in fuzz/TARGET.options).
maxlen=$(sed -n 's/^max_len *= *\([0-9][0-9]*\) *$/\1/p' "fuzz/$t.options")
[ -n "$maxlen" ] || { echo "fuzz/afl.sh: fuzz/$t.options names no max_len" >&2; exit 1; }
afl-fuzz "${limit[@]}" -G "$maxlen" -i "$in" -o "$out" -x build/afl/fuzz/"$t".dict \
  -c build/afl-cmplog/fuzz/"$t" -- build/afl/fuzz/"$t"
crashes=$(find "$out"/default/crashes -type f ! -name README.txt 2>/dev/null | wc -l)
execs=$(sed -n 's/^execs_done *: *//p' "$out"/default/fuzzer_stats 2>/dev/null || echo "?")
echo "afl: $t: $execs executions, $crashes crashes (in $out/default/crashes)"
[ "$crashes" -eq 0 ]
