#!/usr/bin/env bash
# Coverage of the fuzz targets: builds the `coverage` preset (libFuzzer +
# clang source-based coverage), replays each target's seeds and fixed crashes
# -- plus EXTRA/<target>/ when --extra EXTRA is given (e.g. a campaign's
# corpus) -- with -merge=1 (a crashing input would make -runs=0 write no
# profile), then writes an llvm-cov HTML report and a per-file line/branch
# summary of core/.
#   fuzz/coverage.sh [--extra DIR] [--out DIR] [TARGET...]
set -euo pipefail
usage() {
  local rc=${1:-2} fd=2
  [ "$rc" -eq 0 ] && fd=1
  echo "usage: fuzz/coverage.sh [--extra DIR] [--out DIR] [TARGET...]" >&"$fd"
  echo "  TARGET: fuzz_handshake, fuzz_jwt, fuzz_context, fuzz_frames, fuzz_session (default: all)" >&"$fd"
  echo "  --extra DIR: also replay DIR/<target>/; --out DIR: report directory (default reports/coverage)" >&"$fd"
  exit "$rc"
}
extra="" out=reports/coverage
while [ $# -gt 0 ]; do
  case $1 in
    --extra | --out)
      [ $# -ge 2 ] && [ -n "$2" ] || { echo "fuzz/coverage.sh: $1 needs a directory" >&2; usage; }
      if [ "$1" = --extra ]; then extra=$2; else out=$2; fi
      shift 2 ;;
    -h | --help) usage 0 ;;
    -*) echo "fuzz/coverage.sh: unknown option '$1'" >&2; usage ;;
    *) break ;;
  esac
done
for t in "$@"; do
  case $t in
    fuzz_handshake | fuzz_jwt | fuzz_context | fuzz_frames | fuzz_session) ;;
    *) echo "fuzz/coverage.sh: unknown target '$t'" >&2; usage ;;
  esac
done
[ -z "$extra" ] || [ -d "$extra" ] || { echo "fuzz/coverage.sh: --extra $extra is not a directory" >&2; exit 2; }
cd "$(dirname "$0")/.."
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_handshake fuzz_jwt fuzz_context fuzz_frames fuzz_session)
profdata=$(command -v llvm-profdata-14 || command -v llvm-profdata)
cov=$(command -v llvm-cov-14 || command -v llvm-cov)
cmake --preset coverage >/dev/null
cmake --build --preset coverage -j"$(nproc)" --target "${targets[@]}" >/dev/null
rm -rf "$out" && mkdir -p "$out/raw"
objects=()
for t in "${targets[@]}"; do
  bin=build/coverage/fuzz/$t
  merged=$(mktemp -d)
  dirs=(corpus/"$t" corpus/regressions/"$t")
  [ -n "$extra" ] && [ -d "$extra/$t" ] && dirs+=("$extra/$t")
  LLVM_PROFILE_FILE="$out/raw/$t-%p.profraw" "$bin" -merge=1 "$merged" "${dirs[@]}" \
    > "$out/raw/$t.log" 2>&1 || { echo "coverage: $t replay failed (see $out/raw/$t.log)" >&2; exit 1; }
  rm -rf "$merged"
  objects+=(-object "$bin")
done
"$profdata" merge -sparse "$out"/raw/*.profraw -o "$out/wsgate.profdata"
ignore='(faults|fuzz|tests)/|^/usr/'
"$cov" show -format=html -output-dir="$out/html" -instr-profile="$out/wsgate.profdata" \
  -ignore-filename-regex="$ignore" -show-branches=count "${objects[@]}" >/dev/null
"$cov" report -instr-profile="$out/wsgate.profdata" -ignore-filename-regex="$ignore" \
  -show-branch-summary "${objects[@]}" > "$out/report.txt"
# Per file: lines and branches covered.
# (llvm-cov drops the common prefix: every file left is under core/.)
awk 'NR > 2 && NF == 13 && $1 != "TOTAL" { printf "| core/%s | %s | %s |\n", $1, $10, $13 }
     $1 == "TOTAL" { total = sprintf("| **total** | %s | %s |\n", $10, $13) }
     END { printf "%s", total }' "$out/report.txt" > "$out/summary.md.tmp"
{ echo "| file | lines | branches |"; echo "|---|---:|---:|"; cat "$out/summary.md.tmp"; } > "$out/summary.md"
rm -f "$out/summary.md.tmp"
cat "$out/summary.md"
echo "coverage: HTML in $out/html/index.html, summary in $out/summary.md"
