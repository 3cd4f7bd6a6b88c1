#!/usr/bin/env bash
# Checks the OSS-Fuzz / ClusterFuzzLite build (fuzz/oss-fuzz/build.sh) on this
# machine, without Docker: for each configuration it sets the environment
# OSS-Fuzz would set, runs build.sh into a fresh $OUT and $WORK, checks what
# landed in $OUT, replays every seed corpus through every target once and
# fuzzes each target for a few seconds (the coverage build instead replays
# the seeds with profiling on and prints llvm-cov totals).
#
#   fuzz/oss-fuzz/local.sh [CONFIG...]
#
# CONFIG: libfuzzer-address libfuzzer-undefined afl-address coverage
#         (default: all four, in that order).
#
# Environment:
#   SECONDS_PER_TARGET  fuzzing time per target and engine (default 5)
#   WSGATE_OSSFUZZ_DIR  scratch directory (default /tmp/wsgate-ossfuzz); it
#                       holds src/ (the $SRC: wslay, cJSON, wsgate -> this
#                       checkout) and <config>/{out,work,run,build.log}
#   WSLAY_GIT, CJSON_GIT  required: where the wslay and cJSON sources come
#                       from, each a git directory (bare or not) holding the
#                       tags release-1.1.1 / v1.7.15, or a URL to clone them
#                       from (which needs the network), e.g.
#                       https://github.com/tatsuhiro-t/wslay.git and
#                       https://github.com/DaveGamble/cJSON.git
#   OPENSSL_GIT         optional: a git directory or URL of OpenSSL; when set,
#                       branch openssl-3.0 goes to $SRC/openssl and build.sh
#                       builds it (as on OSS-Fuzz).  Unset: the system's
#                       OpenSSL (>= 3.0, libssl-dev) is used.
#   AFL_ROULETTE=1      afl-address also turns on the AFL++ compile options
#                       OSS-Fuzz picks at random (CMPLOG, LAF-Intel, a
#                       dictionary written by the compiler), all at once, and
#                       afl-fuzz runs with -c 0
#   JOBS                parallel build jobs (default: nproc)
#
# Needs clang/clang++ (libFuzzer), afl-clang-fast/afl-clang-fast++/afl-fuzz
# and /usr/lib/afl/libAFLDriver.a (AFL++), llvm-profdata/llvm-cov, cmake
# (>= 3.25), pkg-config, git, zip and unzip (.ci/deps installs them).
# Exits 2 on bad arguments or a missing source or tool, 1 on a failure.
set -euo pipefail

usage() {
  local rc=${1:-2} fd=2
  [ "$rc" -eq 0 ] && fd=1
  echo "usage: WSLAY_GIT=SRC CJSON_GIT=SRC fuzz/oss-fuzz/local.sh [CONFIG...]" >&"$fd"
  echo "  CONFIG: libfuzzer-address libfuzzer-undefined afl-address coverage (default: all)" >&"$fd"
  echo "  SRC: a git directory or a URL (see the comment at the top of this script)" >&"$fd"
  exit "$rc"
}
case ${1:-} in -h | --help) usage 0 ;; esac

# need_src VAR: VAR names a git directory or a URL, or the run stops here.
need_src() {
  local var=$1 val=${!1:-}
  if [ -z "$val" ]; then
    echo "local.sh: $var is not set: give the git directory or URL of its sources (nothing is fetched implicitly)" >&2
    usage
  fi
  case $val in
    *://* | git@*) ;; # a URL: cloned, which needs the network
    *) [ -d "$val" ] || { echo "local.sh: $var=$val is neither a directory nor a URL" >&2; exit 2; } ;;
  esac
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
root=${WSGATE_OSSFUZZ_DIR:-/tmp/wsgate-ossfuzz}
secs=${SECONDS_PER_TARGET:-5}
src=$root/src

TARGETS=(fuzz_handshake fuzz_jwt fuzz_context fuzz_frames fuzz_session)
ALL_CONFIGS=(libfuzzer-address libfuzzer-undefined afl-address coverage)
WSLAY_TAG=release-1.1.1
CJSON_TAG=v1.7.15
OPENSSL_BRANCH=openssl-3.0
AFL_DRIVER=${AFL_DRIVER:-/usr/lib/afl/libAFLDriver.a}

configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=("${ALL_CONFIGS[@]}")
for c in "${configs[@]}"; do
  case " ${ALL_CONFIGS[*]} " in
    *" $c "*) ;;
    *) echo "local.sh: unknown config '$c' (one of: ${ALL_CONFIGS[*]})" >&2
       exit 2 ;;
  esac
done
case $secs in
  '' | *[!0-9]*) echo "local.sh: SECONDS_PER_TARGET must be a number" >&2
                 exit 2 ;;
esac
need_src WSLAY_GIT
need_src CJSON_GIT
[ -z "${OPENSSL_GIT:-}" ] || need_src OPENSSL_GIT
missing=()
for tool in git zip unzip clang clang++ cmake pkg-config; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "local.sh: missing tools: ${missing[*]} (bash .ci/deps installs them)" >&2
  exit 2
fi

# The LLVM tools that match clang (Debian names them llvm-*-NN).
clang_major=$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' |
  head -n1)
llvm_tool() {
  if command -v "$1-$clang_major" >/dev/null 2>&1; then
    echo "$1-$clang_major"
  else
    echo "$1"
  fi
}
PROFDATA=$(llvm_tool llvm-profdata)
LLVMCOV=$(llvm_tool llvm-cov)

# ---- $SRC ------------------------------------------------------------------


# fetch_src GIT REF DEST: REF of GIT (a git directory, bare or not, or a URL)
# as a plain tree in DEST.
fetch_src() {
  local git=$1 ref=$2 dest=$3 gitdir=
  rm -rf "$dest"
  if [ -d "$git/.git" ]; then
    gitdir=$git/.git
  elif [ -d "$git" ]; then
    gitdir=$git
  fi
  if [ -n "$gitdir" ]; then
    mkdir -p "$dest"
    git --git-dir="$gitdir" archive --format=tar "$ref" | tar -x -C "$dest"
  else
    git clone -q --depth 1 --branch "$ref" "$git" "$dest"
  fi
}

mkdir -p "$src"
echo "== \$SRC=$src: wslay $WSLAY_TAG from $WSLAY_GIT, cJSON $CJSON_TAG from $CJSON_GIT"
fetch_src "$WSLAY_GIT" "$WSLAY_TAG" "$src/wslay"
fetch_src "$CJSON_GIT" "$CJSON_TAG" "$src/cJSON"
if [ -n "${OPENSSL_GIT:-}" ]; then
  echo "== OpenSSL $OPENSSL_BRANCH from $OPENSSL_GIT (built by build.sh)"
  fetch_src "$OPENSSL_GIT" "$OPENSSL_BRANCH" "$src/openssl"
else
  rm -rf "$src/openssl" # build.sh falls back to the system's OpenSSL
fi
rm -rf "$src/wsgate"
ln -s "$repo" "$src/wsgate"

# ---- configurations --------------------------------------------------------

# What OSS-Fuzz's base-builder puts in CFLAGS for every build.
BASE_FLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION"
ASAN_FLAGS="-fsanitize=address -fsanitize-address-use-after-scope"
# OSS-Fuzz's SANITIZER_FLAGS_undefined.  clang 14 accepts every one of them
# for C (function and vptr only do something in C++; they are kept as
# OSS-Fuzz passes them), so none is dropped.
UBSAN_CHECKS=array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unsigned-integer-overflow,unreachable,vla-bound,vptr
UBSAN_NORECOVER=${UBSAN_CHECKS/unsigned-integer-overflow,/}
UBSAN_FLAGS="-fsanitize=$UBSAN_CHECKS -fno-sanitize-recover=$UBSAN_NORECOVER"
COVERAGE_FLAGS="-fprofile-instr-generate -fcoverage-mapping -pthread -Wl,--no-as-needed -Wl,-ldl -Wl,-lm -Wno-unused-command-line-argument"

# Run-time options close to ClusterFuzz's.
RUN_ASAN_OPTIONS=alloc_dealloc_mismatch=0:allocator_may_return_null=1:detect_leaks=1:detect_stack_use_after_return=1:strict_memcmp=1:handle_abort=1:symbolize=1:dedup_token_length=3
RUN_UBSAN_OPTIONS=print_stacktrace=1:print_summary=1:halt_on_error=1:silence_unsigned_overflow=1:symbolize=1:dedup_token_length=3
export ASAN_OPTIONS=$RUN_ASAN_OPTIONS UBSAN_OPTIONS=$RUN_UBSAN_OPTIONS

# config_env CONFIG: the build environment, one VAR=value per line.
config_env() {
  local cc=clang cxx=clang++ flags engine=libfuzzer san lib=-fsanitize=fuzzer
  case $1 in
    libfuzzer-address)
      san=address
      flags="$BASE_FLAGS $ASAN_FLAGS -fsanitize=fuzzer-no-link" ;;
    libfuzzer-undefined)
      san=undefined
      flags="$BASE_FLAGS $UBSAN_FLAGS -fsanitize=fuzzer-no-link" ;;
    afl-address)
      # OSS-Fuzz's AFL++ builds: the afl-clang-fast wrappers instrument, the
      # driver library supplies main.
      cc=afl-clang-fast cxx=afl-clang-fast++ engine=afl san=address
      lib=$AFL_DRIVER
      flags="$BASE_FLAGS $ASAN_FLAGS"
      # What OSS-Fuzz's compile_afl exports for every AFL++ build.
      printf '%s\n' AFL_QUIET=1 \
        ASAN_OPTIONS=detect_leaks=0:symbolize=0:detect_odr_violation=0:abort_on_error=1
      if [ "${AFL_ROULETTE:-0}" = 1 ]; then
        printf '%s\n' AFL_LLVM_CMPLOG=1 AFL_LLVM_LAF_ALL=1 \
          "AFL_LLVM_DICT2FILE=$OUT/afl++.dict"
      fi ;;
    coverage)
      san=coverage
      flags="$BASE_FLAGS $COVERAGE_FLAGS -fsanitize=fuzzer-no-link" ;;
  esac
  printf '%s\n' "CC=$cc" "CXX=$cxx" "CCC=$cxx" "CFLAGS=$flags" \
    "CXXFLAGS=$flags" "LIB_FUZZING_ENGINE=$lib" "SANITIZER=$san" \
    "FUZZING_ENGINE=$engine" "FUZZING_LANGUAGE=c" "ARCHITECTURE=x86_64"
}

# ---- results ---------------------------------------------------------------

rows=()      # "config|target|seeds|seconds|execs|result"
walls=()     # "config|build s|total s|result"
failures=0
row() { rows+=("$1|$2|$3|$4|$5|$6"); }
fail() { failures=$((failures + 1)); }

# trim S: S without leading and trailing blanks.
trim() {
  local s=$1
  s=${s#"${s%%[![:space:]]*}"}
  printf '%s' "${s%"${s##*[![:space:]]}"}"
}

# libfuzzer_args TARGET: the [libfuzzer] settings of TARGET.options as
# -key=value (dict resolved against $OUT, as ClusterFuzz does), one a line.
# The target's max_len from its .options (afl-fuzz -G: the same longest input).
max_len_of() {
  libfuzzer_args "$1" | sed -n 's/^-max_len=//p'
}

libfuzzer_args() {
  local section='' line k v
  while IFS= read -r line || [ -n "$line" ]; do
    line=$(trim "${line%%#*}")
    case $line in
      '') ;;
      \[*\]) section=${line#[}; section=${section%]} ;;
      *=*)
        [ "$section" = libfuzzer ] || continue
        k=$(trim "${line%%=*}")
        v=$(trim "${line#*=}")
        [ "$k" = dict ] && v=$OUT/$v
        echo "-$k=$v" ;;
    esac
  done <"$OUT/$1.options"
}

# check_out: every expected file is in $OUT (and the baseline is not).
check_out() {
  local t f ok=0
  for t in "${TARGETS[@]}"; do
    [ -x "$OUT/$t" ] || { echo "missing executable $OUT/$t"; ok=1; }
    for f in "$t.dict" "$t.options" "${t}_seed_corpus.zip"; do
      [ -s "$OUT/$f" ] || { echo "missing or empty $OUT/$f"; ok=1; }
    done
    if [ -f "$OUT/$t.options" ] &&
      ! grep -qx -- "-dict=$OUT/$t.dict" <<<"$(libfuzzer_args "$t")"; then
      echo "$t.options does not name $t.dict"
      ok=1
    fi
  done
  [ ! -e "$OUT/fuzz_empty" ] || { echo "fuzz_empty (baseline) was shipped"; ok=1; }
  return $ok
}

# has_sanitizer_report LOG: a report in LOG even if the exit code was 0
# (recoverable UBSan checks).
has_sanitizer_report() {
  grep -qE 'runtime error:|ERROR: (Address|Leak|Undefined)Sanitizer' "$1"
}

# run_libfuzzer CONFIG TARGET: replay seeds once, then fuzz $secs seconds.
run_libfuzzer() {
  local cfg=$1 t=$2 d=$RUN/$2 nseeds args execs start took res=ok
  nseeds=$(find "$d/seeds" -type f | wc -l)
  if ! "$OUT/$t" -runs=0 -rss_limit_mb=2560 -timeout=25 "$d/seeds" \
    >"$d/replay.log" 2>&1 || has_sanitizer_report "$d/replay.log"; then
    echo "!! $cfg $t: seed replay failed, see $d/replay.log"
    tail -n 30 "$d/replay.log"
    row "$cfg" "$t" "$nseeds" - - "FAIL (seed replay)"
    fail
    return
  fi
  mapfile -t args < <(libfuzzer_args "$t")
  mkdir -p "$d/corpus"
  start=$(date +%s)
  if ! timeout $((secs + 120)) "$OUT/$t" "${args[@]}" -max_total_time="$secs" \
    -rss_limit_mb=2560 -timeout=25 -print_final_stats=1 \
    -artifact_prefix="$d/" "$d/corpus" "$d/seeds" >"$d/fuzz.log" 2>&1 ||
    has_sanitizer_report "$d/fuzz.log"; then
    echo "!! $cfg $t: fuzzing failed, see $d/fuzz.log"
    tail -n 40 "$d/fuzz.log"
    res="FAIL (fuzzing)"
    fail
  fi
  took=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/fuzz.log" |
    tail -n1)
  row "$cfg" "$t" "$nseeds" "$took" "${execs:--}" "$res"
}

# run_afl CONFIG TARGET: the driver runs each seed file once, then afl-fuzz
# for $secs seconds; afl-fuzz exits 0 after crashes, so crashes/ is checked.
run_afl() {
  local cfg=$1 t=$2 d=$RUN/$2 nseeds execs took crashes hangs res=ok
  local -a seeds afl_extra=()
  if [ "${AFL_ROULETTE:-0}" = 1 ]; then
    afl_extra=(-c 0) # the targets carry the CMPLOG instrumentation
    [ ! -s "$OUT/afl++.dict" ] || afl_extra+=(-x "$OUT/afl++.dict")
  fi
  mapfile -t seeds < <(find "$d/seeds" -type f | sort)
  nseeds=${#seeds[@]}
  if ! "$OUT/$t" "${seeds[@]}" \
    >"$d/replay.log" 2>&1 || has_sanitizer_report "$d/replay.log"; then
    echo "!! $cfg $t: seed replay failed, see $d/replay.log"
    tail -n 30 "$d/replay.log"
    row "$cfg" "$t" "$nseeds" - - "FAIL (seed replay)"
    fail
    return
  fi
  if ! AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
    AFL_NO_AFFINITY=1 ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=1 \
    timeout $((secs + 120)) afl-fuzz -V "$secs" -G "$(max_len_of "$t")" -i "$d/seeds" -o "$d/afl" \
    -x "$OUT/$t.dict" "${afl_extra[@]}" -- "$OUT/$t" >"$d/fuzz.log" 2>&1; then
    echo "!! $cfg $t: afl-fuzz failed, see $d/fuzz.log"
    tail -n 40 "$d/fuzz.log"
    row "$cfg" "$t" "$nseeds" - - "FAIL (afl-fuzz)"
    fail
    return
  fi
  local stats=$d/afl/default/fuzzer_stats
  execs=$(sed -n 's/^execs_done *: *//p' "$stats" 2>/dev/null || true)
  took=$(sed -n 's/^run_time *: *//p' "$stats" 2>/dev/null || true)
  crashes=$(find "$d/afl/default/crashes" -type f ! -name README.txt 2>/dev/null |
    wc -l)
  hangs=$(find "$d/afl/default/hangs" -type f 2>/dev/null | wc -l)
  if [ ! -f "$stats" ]; then
    res="FAIL (no fuzzer_stats)"
    fail
  elif [ "$crashes" -ne 0 ]; then
    echo "!! $cfg $t: $crashes crash(es) in $d/afl/default/crashes"
    res="FAIL ($crashes crashes)"
    fail
  elif [ "$hangs" -ne 0 ]; then
    res="ok ($hangs hangs)"
  fi
  row "$cfg" "$t" "$nseeds" "${took:--}" "${execs:--}" "$res"
}

# run_coverage CONFIG TARGET: replay the seeds with profiling, report totals
# (wsgate's own sources: the dependencies are left out).
COV_IGNORE='/(cJSON|wslay|openssl)/|^/usr/'
run_coverage() {
  local cfg=$1 t=$2 d=$RUN/$2 nseeds total
  nseeds=$(find "$d/seeds" -type f | wc -l)
  rm -f "$d"/*.profraw
  if ! LLVM_PROFILE_FILE="$d/%p.profraw" "$OUT/$t" -runs=0 "$d/seeds" \
    >"$d/replay.log" 2>&1; then
    echo "!! $cfg $t: seed replay failed, see $d/replay.log"
    tail -n 30 "$d/replay.log"
    row "$cfg" "$t" "$nseeds" - - "FAIL (seed replay)"
    fail
    return
  fi
  if ! "$PROFDATA" merge -sparse "$d"/*.profraw -o "$d/$t.profdata" ||
    ! "$LLVMCOV" report "$OUT/$t" -instr-profile="$d/$t.profdata" \
      -ignore-filename-regex="$COV_IGNORE" >"$d/report.txt"; then
    row "$cfg" "$t" "$nseeds" 0 "$nseeds" "FAIL (llvm-cov)"
    fail
    return
  fi
  total=$(grep '^TOTAL' "$d/report.txt")
  # TOTAL regions missed cover functions missed cover lines missed cover ...
  row "$cfg" "$t" "$nseeds" 0 "$nseeds" \
    "ok (lines $(echo "$total" | awk '{print $10}'), functions $(echo "$total" | awk '{print $7}'), regions $(echo "$total" | awk '{print $4}'))"
}

coverage_totals() {
  local objs=() t
  for t in "${TARGETS[@]}"; do
    [ -f "$RUN/$t/$t.profdata" ] || return 0
    objs+=(-object "$OUT/$t")
  done
  "$PROFDATA" merge -sparse "$RUN"/*/*.profdata -o "$RUN/all.profdata"
  "$LLVMCOV" report "${objs[@]:1}" -instr-profile="$RUN/all.profdata" \
    -ignore-filename-regex="$COV_IGNORE" >"$RUN/report.txt"
  echo "== coverage of wsgate's sources by all seed corpora (per file: $RUN/report.txt)"
  grep -m1 '^Filename' "$RUN/report.txt"
  grep '^TOTAL' "$RUN/report.txt"
}

# ---- main loop -------------------------------------------------------------

for cfg in "${configs[@]}"; do
  echo
  echo "================ $cfg ================"
  t0=$(date +%s)
  fails_before=$failures
  base=$root/$cfg
  rm -rf "$base"
  OUT=$base/out WORK=$base/work RUN=$base/run
  mkdir -p "$OUT" "$WORK" "$RUN"
  mapfile -t envs < <(config_env "$cfg")
  printf '   %s\n' "${envs[@]}"
  # A clean environment, as in the builder image: nothing of the caller's
  # CFLAGS, LDFLAGS, PKG_CONFIG_PATH... leaks in.
  if ! env -i PATH="$PATH" HOME="$HOME" LANG=C.UTF-8 TMPDIR="${TMPDIR:-/tmp}" \
    ${JOBS:+JOBS="$JOBS"} "${envs[@]}" SRC="$src" OUT="$OUT" WORK="$WORK" \
    bash -eu "$here/build.sh" >"$base/build.log" 2>&1; then
    tb=$(($(date +%s) - t0))
    echo "!! $cfg: build.sh failed (log: $base/build.log)"
    tail -n 40 "$base/build.log"
    row "$cfg" "(build)" - - - "FAIL (build.sh)"
    walls+=("$cfg|$tb|$tb|FAIL")
    fail
    continue
  fi
  tb=$(($(date +%s) - t0))
  echo "   build.sh: ok in ${tb}s (log: $base/build.log)"
  if ! check_out; then
    row "$cfg" "(\$OUT)" - - - "FAIL (missing files)"
    fail
  fi
  for t in "${TARGETS[@]}"; do
    if [ ! -x "$OUT/$t" ] || [ ! -f "$OUT/${t}_seed_corpus.zip" ]; then
      continue
    fi
    mkdir -p "$RUN/$t/seeds"
    unzip -q -o "$OUT/${t}_seed_corpus.zip" -d "$RUN/$t/seeds"
    echo "   $t: $(find "$RUN/$t/seeds" -type f | wc -l) seeds"
    case $cfg in
      libfuzzer-*) run_libfuzzer "$cfg" "$t" ;;
      afl-*) run_afl "$cfg" "$t" ;;
      coverage) run_coverage "$cfg" "$t" ;;
    esac
  done
  if [ "$cfg" = coverage ]; then
    coverage_totals || { echo "!! coverage: merged report failed"; fail; }
  fi
  tt=$(($(date +%s) - t0))
  if [ "$failures" -eq "$fails_before" ]; then r=ok; else r=FAIL; fi
  walls+=("$cfg|$tb|$tt|$r")
done

echo
echo "================ summary ================"
{
  echo "config|target|seeds replayed|seconds fuzzed|execs|result"
  printf '%s\n' "${rows[@]}"
} | column -t -s '|'
echo
{
  echo "config|build s|wall s|result"
  printf '%s\n' "${walls[@]}"
} | column -t -s '|'
if [ "$failures" -ne 0 ]; then
  echo "local.sh: $failures failure(s)"
  exit 1
fi
echo "local.sh: all ok"
