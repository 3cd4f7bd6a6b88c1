#!/usr/bin/env bash
# Fuzzing figures (a benchmark, not a test).  All five targets side by side
# in one run, each beside fuzz_empty (an empty target built with the same
# flags) started the same way: the target's seeds copied as the corpus, its
# dictionary, its -max_len from fuzz/<target>.options, -seed=1 and a fixed
# number of executions (-runs).  The figure is CPU time (user + system, from
# /usr/bin/time) per execution, so a loaded machine changes it little; exec/s
# is executions per CPU second, and the ratio is target / empty.  libFuzzer's
# own (wall-clock) exec/s is printed beside it.  fuzz_empty runs 10 times as
# many executions, so its start-up does not dominate.  With --campaign SECS
# it then fuzzes fuzz_session for SECS seconds (600 for the published
# figure); coverage of core/ (fuzz/coverage.sh) after the seeds and after the
# campaign unless --no-coverage.  Writes reports/fuzz.md (the command is in
# it).  --peer TARGET=BINARY adds a row for another project's libFuzzer
# binary (e.g. uWebSockets' fuzzing/WebSocket.cpp, built with the same
# -fsanitize=fuzzer,address,undefined), run with TARGET's -runs, -seed and
# -max_len from an empty corpus, beside the same fuzz_empty figure.
#   fuzz/bench.sh [--runs N] [--campaign SECS] [--no-coverage]
#                 [--peer TARGET=BINARY]... [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
all="fuzz_handshake fuzz_jwt fuzz_context fuzz_frames fuzz_session"
usage() {
  local rc=${1:-2} fd=2
  [ "$rc" -eq 0 ] && fd=1
  {
    echo "usage: fuzz/bench.sh [--runs N] [--campaign SECS] [--no-coverage] [--peer TARGET=BINARY]... [TARGET...]"
    echo "  --runs N        executions per target (whole number >= 1000, default 100000; fuzz_empty: 10 N)"
    echo "  --campaign SECS then fuzz fuzz_session for SECS seconds (default 0: none)"
    echo "  --no-coverage   skip the coverage reports (fuzz/coverage.sh)"
    echo "  --peer T=BIN    also run libFuzzer binary BIN with target T's flags (empty corpus, no dictionary)"
    echo "  TARGET          any of: $all (default: all five)"
  } >&"$fd"
  exit "$rc"
}
command="fuzz/bench.sh $*"
runs=100000 campaign=0 coverage=1 targets=() peers=()
while [ $# -gt 0 ]; do
  case $1 in
    --runs | --campaign)
      [ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]] || { echo "fuzz/bench.sh: $1 needs a whole number, got '${2:-}'" >&2; usage; }
      if [ "$1" = --runs ]; then runs=$((10#$2)); else campaign=$((10#$2)); fi
      shift 2 ;;
    --no-coverage) coverage=0; shift ;;
    --peer)
      [ $# -ge 2 ] && [[ $2 == *=* ]] || { echo "fuzz/bench.sh: --peer needs TARGET=BINARY, got '${2:-}'" >&2; usage; }
      case " $all " in *" ${2%%=*} "*) ;; *) echo "fuzz/bench.sh: --peer: unknown target '${2%%=*}'" >&2; usage ;; esac
      [ -f "${2#*=}" ] && [ -x "${2#*=}" ] || { echo "fuzz/bench.sh: --peer: '${2#*=}' is not an executable file" >&2; exit 2; }
      peers+=("$2")
      shift 2 ;;
    -h | --help) usage 0 ;;
    -*) echo "fuzz/bench.sh: unknown option '$1'" >&2; usage ;;
    *)
      case " $all " in *" $1 "*) targets+=("$1") ;; *) echo "fuzz/bench.sh: unknown target '$1'" >&2; usage ;; esac
      shift ;;
  esac
done
[ "$runs" -ge 1000 ] || { echo "fuzz/bench.sh: --runs must be at least 1000, got $runs" >&2; usage; }
[ ${#targets[@]} -gt 0 ] || read -r -a targets <<< "$all"
[ -x /usr/bin/time ] || { echo "fuzz/bench.sh: needs /usr/bin/time (Debian package 'time')" >&2; exit 2; }
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc)" >/dev/null
bin=build/fuzz/fuzz
work=build/fuzz-bench
rm -rf "$work" && mkdir -p "$work" reports
export ASAN_OPTIONS=abort_on_error=1:symbolize=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

# max_len from fuzz/<target>.options (the same value every engine gets).
max_len() {
  local v
  v=$(sed -n 's/^max_len *= *\([0-9][0-9]*\) *$/\1/p' "fuzz/$1.options")
  [ -n "$v" ] || { echo "bench: fuzz/$1.options names no max_len" >&2; exit 1; }
  echo "$v"
}

# Runs binary $1 on a copy of target $2's seeds for $3 executions; prints
# "executions cpu_seconds wall_exec_per_s".  With a 4th argument, runs that
# program instead (a peer: empty corpus, no dictionary).
measure() {
  local b=$1 t=$2 n=$3 dir=$work/$1-$2 ml prog=$bin/$1 dict
  ml=$(max_len "$t")
  dict=(-dict="$bin/$t.dict")
  mkdir -p "$dir"
  if [ $# -ge 4 ]; then
    prog=$4 dict=()
  else
    cp corpus/"$t"/* "$dir"/
  fi
  if ! /usr/bin/time -f '%U %S' -o "$dir.time" "$prog" -runs="$n" -seed=1 -max_len="$ml" \
    -print_final_stats=1 "${dict[@]}" -artifact_prefix="$work/$b-" "$dir" \
    > "$work/$b-$t.log" 2>&1; then
    echo "bench: $b on $t's seeds crashed (see $work/$b-$t.log; input: $(ls "$work/$b-"crash-* 2>/dev/null | head -1))" >&2
    echo "crash"
    return
  fi
  awk -v ex="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$b-$t.log")" \
    -v w="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$b-$t.log")" \
    '{ printf "%d %.2f %d\n", ex, $1 + $2, w }' "$dir.time"
}

{
  echo "# Fuzzing figures — $(date -u +%Y-%m-%dT%H:%M:%SZ) — $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo
  echo "Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start; preset \`fuzz\` (libFuzzer + ASan + UBSan)."
  echo "Command: \`${command% }\`"
  echo "Each target: \`-runs=$runs -seed=1 -max_len=<.options> -dict=<target>.dict\` on a copy of its seeds; fuzz_empty the same with -runs=$((runs * 10))."
  echo "exec/s = executions / CPU seconds (user + system); ratio = target / fuzz_empty; \"wall\" is libFuzzer's own figure."
  echo
  echo "| target | max_len | executions | CPU s | µs/exec | exec/s (CPU) | fuzz_empty exec/s (CPU) | ratio | exec/s (wall) | fuzz_empty exec/s (wall) | aim |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} > "$work/fuzz.md"
cat "$work/fuzz.md"
failed=0
for t in "${targets[@]}"; do
  read -r tn tc tw <<< "$(measure "$t" "$t" "$runs")"
  read -r en ec ew <<< "$(measure fuzz_empty "$t" $((runs * 10)))"
  if [ "$tn" = crash ] || [ "$en" = crash ]; then
    failed=1
    echo "| $t | $(max_len "$t") | crashed: see $work/$t-$t.log | | | | | | | | |" | tee -a "$work/fuzz.md"
    continue
  fi
  case $t in fuzz_handshake) aim="64,000 exec/s" ;; fuzz_frames) aim="139,000 exec/s" ;; fuzz_session) aim="ratio ≥ 0.10" ;; *) aim="" ;; esac
  awk -v t="$t" -v ml="$(max_len "$t")" -v tn="$tn" -v tc="$tc" -v tw="$tw" -v en="$en" -v ec="$ec" -v ew="$ew" -v aim="$aim" 'BEGIN {
    tr = tc > 0 ? tn / tc : 0; er = ec > 0 ? en / ec : 0
    printf "| %s | %d | %d | %.2f | %.1f | %d | %d | %.3f | %d | %d | %s |\n", t, ml, tn, tc,
      (tn > 0 ? tc * 1e6 / tn : 0), tr, er, (er > 0 ? tr / er : 0), tw, ew, aim }' | tee -a "$work/fuzz.md"
  for p in ${peers[@]+"${peers[@]}"}; do
    [ "${p%%=*}" = "$t" ] || continue
    name="peer-$(basename "${p#*=}")"
    read -r pn pc pw <<< "$(measure "$name" "$t" "$runs" "${p#*=}")"
    if [ "$pn" = crash ]; then
      failed=1
      echo "| $name (as $t) | $(max_len "$t") | crashed: see $work/$name-$t.log | | | | | | | | |" | tee -a "$work/fuzz.md"
      continue
    fi
    awk -v t="$name (as $t)" -v ml="$(max_len "$t")" -v tn="$pn" -v tc="$pc" -v tw="$pw" -v en="$en" -v ec="$ec" -v ew="$ew" 'BEGIN {
      tr = tc > 0 ? tn / tc : 0; er = ec > 0 ? en / ec : 0
      printf "| %s | %d | %d | %.2f | %.1f | %d | %d | %.3f | %d | %d | peer |\n", t, ml, tn, tc,
        (tn > 0 ? tc * 1e6 / tn : 0), tr, er, (er > 0 ? tr / er : 0), tw, ew }' | tee -a "$work/fuzz.md"
  done
done

if [ "$coverage" -eq 1 ]; then
  {
    echo
    echo "## Coverage of core/ after replaying the seed corpora (all five targets)"
    echo
  } >> "$work/fuzz.md"
  bash fuzz/coverage.sh --out "$work/cov-seeds" >/dev/null
  cat "$work/cov-seeds/summary.md" >> "$work/fuzz.md"
fi

if [ "$campaign" -gt 0 ]; then
  mkdir -p "$work/campaign/fuzz_session"
  cp corpus/fuzz_session/* "$work/campaign/fuzz_session/"
  "$bin/fuzz_session" -max_total_time="$campaign" -max_len="$(max_len fuzz_session)" -print_final_stats=1 \
    -dict="$bin/fuzz_session.dict" -artifact_prefix="$work/" \
    "$work/campaign/fuzz_session" > "$work/campaign.log" 2>&1 ||
    { echo "bench: the campaign found a crash (see $work/campaign.log)" >&2; exit 1; }
  {
    echo
    echo "## fuzz_session: a ${campaign} s campaign"
    echo
    echo "Campaign: $(sed -n 's/^stat::number_of_executed_units: */executions /p; s/^stat::average_exec_per_sec: */, exec\/s /p' "$work/campaign.log" | tr -d '\n'), corpus $(ls "$work/campaign/fuzz_session" | wc -l) inputs."
  } >> "$work/fuzz.md"
  if [ "$coverage" -eq 1 ]; then
    bash fuzz/coverage.sh --out "$work/cov-session-seeds" fuzz_session >/dev/null
    bash fuzz/coverage.sh --extra "$work/campaign" --out "$work/cov-campaign" fuzz_session >/dev/null
    {
      echo
      echo "Coverage of core/ from fuzz_session's seeds, and after the campaign:"
      echo
      echo "| file | lines (seeds) | branches (seeds) | lines (campaign) | branches (campaign) |"
      echo "|---|---:|---:|---:|---:|"
      join -t'|' -1 2 -2 2 <(sed -n '3,$p' "$work/cov-session-seeds/summary.md" | sort -t'|' -k2,2) \
        <(sed -n '3,$p' "$work/cov-campaign/summary.md" | sort -t'|' -k2,2) |
        awk -F'|' '{ printf "|%s|%s|%s|%s|%s|\n", $1, $3, $4, $7, $8 }'
    } >> "$work/fuzz.md"
  fi
fi
cp "$work/fuzz.md" reports/fuzz.md
echo "bench: wrote reports/fuzz.md"
[ "$failed" -eq 0 ] || { echo "bench: a target crashed (see above): its figures are missing" >&2; exit 1; }
