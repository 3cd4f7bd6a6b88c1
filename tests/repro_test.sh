#!/usr/bin/env bash
# Every generated seed and corpus file is reproducible (ctest "reproducible"):
# two runs of each generator write the same bytes.  ES256 and PS256 sign with
# randomness, so this fails if tests/tokens.c stops pinning it.
#   repro_test.sh SEEDS GEN_CORPUS WORKDIR
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: repro_test.sh SEEDS GEN_CORPUS WORKDIR" >&2
  exit 2
fi
seeds=$1 gen=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
"$seeds" "$work/seeds1" && "$seeds" "$work/seeds2"
diff -r "$work/seeds1" "$work/seeds2" || { echo "FAIL: seeds differ between two runs" >&2; exit 1; }
if [ -x "$gen" ]; then
  "$gen" "$work/corpus1" >/dev/null && "$gen" "$work/corpus2" >/dev/null
  diff -r "$work/corpus1" "$work/corpus2" || { echo "FAIL: corpora differ between two runs" >&2; exit 1; }
  # A regeneration replaces its own seeds: a stale seed-named file goes.
  stale=$work/corpus1/fuzz_jwt/0000000000000000000000000000000000000000
  echo stale > "$stale"
  "$gen" "$work/corpus1" >/dev/null
  [ ! -e "$stale" ] || { echo "FAIL: gen_corpus kept a stale seed" >&2; exit 1; }
fi
echo "seeds: $(find "$work/seeds1" -type f | wc -l) files, corpora: $(find "$work/corpus1" -type f 2>/dev/null | wc -l) files, reproducible"
