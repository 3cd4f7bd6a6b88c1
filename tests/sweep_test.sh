#!/usr/bin/env bash
# The fault sweep over every seed input of the session stages (ctest
# "sweep"): each group of seeds (tests/seeds.c) with its config, every hit of
# every fault kind failed once and from there on.  Must be clean.
#   sweep_test.sh WSGATE SEEDS SOURCE_DIR WORKDIR
set -euo pipefail
wsgate=$1 seeds=$2 src=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
"$seeds" "$work/seeds"
fail=0
total_points=0
for group in default fma policy; do
  dir=$work/seeds/$group
  set +e
  "$wsgate" sweep --keys "$src/tests/keys/jwks.json" --config "$dir/config.json" \
    --now 1700000000 --json-out "$work/$group.failures.jsonl" "$dir"/*.bin \
    > "$work/$group.out" 2> "$work/$group.err"
  rc=$?
  set -e
  summary=$(tail -n 1 "$work/$group.out")
  echo "$group: $summary"
  if [ $rc -ne 0 ]; then
    echo "FAIL: sweep of $group exited $rc; failing points:" >&2
    head -n 20 "$work/$group.failures.jsonl" >&2
    fail=1
  fi
  # The summary must be the last line and carry the POLICY §5 members.
  for k in inputs points absorbed diagnosed unexplained misattributed leaked crashed; do
    grep -q "\"$k\":[0-9]" <<<"$summary" || { echo "FAIL: $group summary lacks $k" >&2; fail=1; }
  done
  inputs=$(ls "$dir"/*.bin | wc -l)
  grep -q "\"inputs\":$inputs," <<<"$summary" || { echo "FAIL: $group: expected $inputs inputs" >&2; fail=1; }
  [ -s "$work/$group.failures.jsonl" ] && { echo "FAIL: $group wrote failing points" >&2; fail=1; }
  points=$(sed -E 's/.*"points":([0-9]+).*/\1/' <<<"$summary")
  total_points=$((total_points + points))
done
# Every seed of the default group reaches some hit; the ones past the
# context factory absorb a failed primary id generator.
grep -q '"absorbed":[1-9]' "$work/default.out" || { echo "FAIL: nothing absorbed" >&2; fail=1; }
# Each seed reaches the stage it was written for (its clean outcome).
while read -r seed diag; do
  grep -q "/$seed.bin\",\"clean\":\"$diag\"" "$work"/*.out ||
    { echo "FAIL: seed $seed: clean outcome is not $diag" >&2; fail=1; }
done <<'LIST'
default/auth_bad_signature AUTH_SIG_INVALID
default/auth_expired AUTH_EXPIRED
default/auth_no_sub AUTH_SUB
default/auth_no_token AUTH_NO_TOKEN
default/close_bad_code FRAME_CLOSE_CODE
default/close_binary FRAME_BINARY
default/close_empty CLOSE_CLIENT
default/close_eof EOF_CLEAN
default/close_truncated FRAME_TRUNCATED
default/close_unmasked FRAME_UNMASKED
default/close_utf8 FRAME_UTF8
default/hs_incomplete HS_INCOMPLETE
default/hs_key_missing HS_KEY_MISSING
default/hs_method HS_METHOD
default/hs_version HS_WS_VERSION
default/long_exchange CLOSE_CLIENT
default/token_eddsa CLOSE_CLIENT
default/token_es256 CLOSE_CLIENT
default/token_hs256 CLOSE_CLIENT
default/token_hs384 CLOSE_CLIENT
default/token_hs512 CLOSE_CLIENT
default/token_ps256 CLOSE_CLIENT
default/token_query CLOSE_CLIENT
default/token_rs256 CLOSE_CLIENT
default/token_subprotocol CLOSE_CLIENT
fma/fma_bad_token AUTH_BASE64
fma/fma_header_token CLOSE_CLIENT
fma/fma_not_auth AUTH_FIRST_MESSAGE
fma/fma_ok CLOSE_CLIENT
policy/policy_audience AUTH_AUD
policy/policy_ok CLOSE_CLIENT
policy/policy_origin HS_ORIGIN
LIST
echo "total points: $total_points"
[ "$total_points" -gt 1000 ] || { echo "FAIL: only $total_points points" >&2; fail=1; }
exit $fail
