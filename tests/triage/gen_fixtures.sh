#!/usr/bin/env bash
# Regenerates the report fixtures of tests/triage/fixtures/ (authoring
# helper; the committed fixtures are what the tests read).
#
#   tests/triage/gen_fixtures.sh E2E_WORKDIR OUTDIR
#
# E2E_WORKDIR is a finished tests/triage/e2e.sh work directory (its planted
# binaries and crash inputs).  The reports of the planted defects come from
# those binaries; the other sanitizer reports from
# tests/triage/fixture_src/sanitizers.c, built here.  Paths of this machine
# are rewritten to the OSS-Fuzz layout (/src/wsgate/..., /out/...), so no
# fixture names a local directory.
set -euo pipefail
usage() { echo "usage: $0 E2E_WORKDIR OUTDIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
[ -d "$1/bin" ] && [ -d "$1/inputs" ] || { echo "$0: $1 is not an e2e.sh work directory" >&2; usage; }
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ASAN_OPTIONS=abort_on_error=1:symbolize=1:detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:symbolize=1

clean() {  # stdin -> stdout, machine paths replaced
  sed -e "s#$work/src#/src/wsgate#g" -e "s#$work/bin/[^/]*/[a-z]*/fuzz#/out#g" \
      -e "s#$root#/src/wsgate#g" -e "s#$tmp#/out#g"
}
rep() {  # NAME BINARY ARGS...: the report of one run
  local name=$1; shift
  "$@" > "$tmp/log" 2>&1 || true
  clean < "$tmp/log" > "$out/$name.log"
}

in=$work/inputs
b=$work/bin
rep hs_overflow_a "$b/001/asan/fuzz/fuzz_handshake" "$in/001/fuzz_handshake-001-1"
rep hs_overflow_b "$b/001/asan/fuzz/fuzz_handshake" "$in/001/fuzz_handshake-001-3"
rep frames_leak_nomem "$b/002/asan/fuzz/fuzz_context" "$in/002/fuzz_context-002-1"
rep ctx_1011_a "$b/003/asan/fuzz/fuzz_context" "$in/003/fuzz_context-003-1"
rep ctx_1011_b "$b/003/asan/fuzz/fuzz_context" "$in/003/fuzz_context-003-3"
rep frames_uaf_a "$b/004/asan/fuzz/fuzz_frames" "$in/004/fuzz_frames-004-1"
rep frames_uaf_b "$b/004/asan/fuzz/fuzz_frames" "$in/004/fuzz_frames-004-3"
if [ -x "$b/003/fuzz/fuzz/fuzz_context" ]; then
  rep libfuzzer_ctx_1011 "$b/003/fuzz/fuzz/fuzz_context" "$in/003/fuzz_context-003-2"
  rep libfuzzer_frames_uaf "$b/004/fuzz/fuzz/fuzz_frames" "$in/004/fuzz_frames-004-2"
fi

# The sanitizer demo, with its source path as the project's.
src=$root/tests/triage/fixture_src/sanitizers.c
flags=(-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
       "-fdebug-prefix-map=$root=/src/wsgate")
clang "${flags[@]}" "$src" -o "$tmp/sanitizers"
clang "${flags[@]}" -DFUZZER -fsanitize=fuzzer "$src" -o "$tmp/sanitizers_fuzzer"
rep direct_leak "$tmp/sanitizers" l
rep integer_overflow "$tmp/sanitizers" i
rep stack_overflow "$tmp/sanitizers" s
rep stack_buffer_overflow "$tmp/sanitizers" b
rep global_buffer_overflow "$tmp/sanitizers" g
rep double_free "$tmp/sanitizers" d
rep null_deref "$tmp/sanitizers" n
rep wild_read "$tmp/sanitizers" w
rep index_oob "$tmp/sanitizers" x
printf t > "$tmp/t"; printf o > "$tmp/o"
rep timeout "$tmp/sanitizers_fuzzer" -timeout=1 "$tmp/t"
rep oom "$tmp/sanitizers_fuzzer" -rss_limit_mb=256 "$tmp/o"
if grep -lE "/(work|home|tmp)/" "$out"/*.log; then
  echo "$0: a fixture still names a local path" >&2
  exit 1
fi
ls "$out"
