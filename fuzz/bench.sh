#!/usr/bin/env bash
# Fuzzing figures (a benchmark, not a test): for each target, exec/s over a
# fixed run of SECS seconds from its seeds, and the same for fuzz_empty (an
# empty target built with the same flags) in the same run; the ratio is the
# figure (aim: >= 0.25 handshake and frames, >= 0.10 session).  With
# --campaign SECS2 it then fuzzes fuzz_session for SECS2 seconds (600 for the
# published figure) and measures core/ coverage after the seeds and after the
# campaign (fuzz/coverage.sh).  Writes reports/fuzz.md.
#   fuzz/bench.sh [--secs SECS] [--campaign SECS2]
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { local rc=${1:-2} fd=2; [ "$rc" -eq 0 ] && fd=1; echo "usage: fuzz/bench.sh [--secs N] [--campaign N]  (N: whole seconds; --secs >= 1, default 20; --campaign default 0: none)" >&"$fd"; exit "$rc"; }
command="fuzz/bench.sh $*"
secs=20 campaign=0
while [ $# -gt 0 ]; do
  case $1 in
    --secs | --campaign)
      [ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]] || { echo "fuzz/bench.sh: $1 needs a whole number of seconds, got '${2:-}'" >&2; usage; }
      if [ "$1" = --secs ]; then secs=$2; else campaign=$2; fi
      shift 2 ;;
    -h | --help) usage 0 ;;
    *) echo "fuzz/bench.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
[ "$secs" -ge 1 ] || { echo "fuzz/bench.sh: --secs must be at least 1" >&2; usage; }
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc)" >/dev/null
bin=build/fuzz/fuzz
work=build/fuzz-bench
rm -rf "$work" && mkdir -p "$work" reports
export ASAN_OPTIONS=abort_on_error=1:symbolize=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

# execs/s of binary $1 over a copy of target $2's seeds.
rate() {
  local b=$1 t=$2 dir=$work/$1-$2
  mkdir -p "$dir" && cp corpus/"$t"/* "$dir"/
  "$bin/$b" -max_total_time="$secs" -print_final_stats=1 -dict="$bin/$t.dict" \
    -artifact_prefix="$work/" "$dir" > "$work/$b-$t.log" 2>&1 ||
    { echo "bench: $b on $t's seeds failed (see $work/$b-$t.log)" >&2; exit 1; }
  sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$b-$t.log"
}

{
  echo "# Fuzzing figures — $(date -u +%Y-%m-%dT%H:%M:%SZ) — $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo
  echo "Machine: $(nproc) cores; preset \`fuzz\` (libFuzzer + ASan + UBSan); ${secs} s per run, seeds as the starting corpus."
  echo "Command: \`${command% }\` (--secs $secs, --campaign $campaign)"
  echo
  echo "| target | exec/s | empty target exec/s | ratio | aim |"
  echo "|---|---:|---:|---:|---:|"
} > "$work/fuzz.md"
for t in fuzz_handshake fuzz_jwt fuzz_context fuzz_frames fuzz_session; do
  r=$(rate "$t" "$t")
  e=$(rate fuzz_empty "$t")
  case $t in fuzz_handshake | fuzz_frames) aim="≥ 0.25" ;; fuzz_session) aim="≥ 0.10" ;; *) aim="" ;; esac
  ratio=$(awk -v a="$r" -v b="$e" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  echo "| $t | $r | $e | $ratio | $aim |" | tee -a "$work/fuzz.md"
done

{
  echo
  echo "## Coverage of core/ after replaying the seed corpora (all five targets)"
  echo
} >> "$work/fuzz.md"
bash fuzz/coverage.sh --out "$work/cov-seeds" >/dev/null
cat "$work/cov-seeds/summary.md" >> "$work/fuzz.md"

if [ "$campaign" -gt 0 ]; then
  mkdir -p "$work/campaign/fuzz_session"
  cp corpus/fuzz_session/* "$work/campaign/fuzz_session/"
  "$bin/fuzz_session" -max_total_time="$campaign" -print_final_stats=1 \
    -dict="$bin/fuzz_session.dict" -artifact_prefix="$work/" \
    "$work/campaign/fuzz_session" > "$work/campaign.log" 2>&1 ||
    { echo "bench: the campaign found a crash (see $work/campaign.log)" >&2; exit 1; }
  bash fuzz/coverage.sh --out "$work/cov-session-seeds" fuzz_session >/dev/null
  bash fuzz/coverage.sh --extra "$work/campaign" --out "$work/cov-campaign" fuzz_session >/dev/null
  {
    echo
    echo "## fuzz_session: coverage of core/ from its seeds, and after a ${campaign} s campaign"
    echo
    echo "Campaign: $(grep -c . "$work/campaign.log" >/dev/null; sed -n 's/^stat::number_of_executed_units: */executions /p; s/^stat::average_exec_per_sec: */, exec\/s /p' "$work/campaign.log" | tr -d '\n'), corpus $(ls "$work/campaign/fuzz_session" | wc -l) inputs."
    echo
    echo "| file | lines (seeds) | branches (seeds) | lines (campaign) | branches (campaign) |"
    echo "|---|---:|---:|---:|---:|"
    join -t'|' -1 2 -2 2 <(sed -n '3,$p' "$work/cov-session-seeds/summary.md" | sort -t'|' -k2,2) \
      <(sed -n '3,$p' "$work/cov-campaign/summary.md" | sort -t'|' -k2,2) |
      awk -F'|' '{ printf "|%s|%s|%s|%s|%s|\n", $1, $3, $4, $7, $8 }'
  } >> "$work/fuzz.md"
fi
cp "$work/fuzz.md" reports/fuzz.md
echo "bench: wrote reports/fuzz.md"
