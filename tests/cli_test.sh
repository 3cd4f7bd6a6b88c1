#!/usr/bin/env bash
# Command-line contract (CONTRACT 2, 5): outcome line, --out bytes, chunking
# independence, diags --json, the README's diagnosis table, and clean
# rejection of bad arguments and files.
# usage: cli_test.sh WSGATE MKSTREAM SOURCE_DIR
set -u
ws=$1 mk=$2 src=$3
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
keys="$src/tests/keys/jwks.json"

# field FILE KEY: a top-level member of the one-line JSON outcome.
field() { $py -c 'import json,sys; v=json.loads(open(sys.argv[1]).read())[sys.argv[2]]; print("null" if v is None else v)' "$1" "$2"; }

"$mk" chat > "$tmp/chat.bin" || bad "mkstream chat"
"$ws" session --keys "$keys" --now 1700000000 --out "$tmp/out1" < "$tmp/chat.bin" > "$tmp/o1"; rc=$?
[ $rc -eq 0 ] && ok || bad "session exit $rc"
[ "$(wc -l < "$tmp/o1")" -eq 1 ] && ok || bad "outcome is not one line"
[ "$(field "$tmp/o1" diag)" = CLOSE_CLIENT ] && ok || bad "chat diag: $(cat "$tmp/o1")"
[ "$(field "$tmp/o1" close_code)" = 1000 ] && ok || bad "chat close_code"
[ "$(field "$tmp/o1" http_status)" = 101 ] && ok || bad "chat http_status"
[ "$(field "$tmp/o1" stage)" = frames ] && ok || bad "chat stage"
[ "$(field "$tmp/o1" faults)" = "[]" ] && ok || bad "faults member"
head -c 12 "$tmp/out1" | grep -q "HTTP/1.1 101" && ok || bad "--out lacks the 101"
for c in 1 7 100; do
  "$ws" session --keys "$keys" --now 1700000000 --chunk $c --out "$tmp/outc" < "$tmp/chat.bin" > "$tmp/oc"
  cmp -s "$tmp/o1" "$tmp/oc" && ok || bad "--chunk $c changes the outcome"
  cmp -s "$tmp/out1" "$tmp/outc" && ok || bad "--chunk $c changes the server bytes"
done

"$mk" expired > "$tmp/exp.bin"
"$ws" session --keys "$keys" --now 1700000000 < "$tmp/exp.bin" > "$tmp/o2"
[ "$(field "$tmp/o2" diag)" = AUTH_EXPIRED ] && ok || bad "expired diag: $(cat "$tmp/o2")"
[ "$(field "$tmp/o2" http_status)" = 401 ] && ok || bad "expired status"
case "$(field "$tmp/o2" reason)" in AUTH_EXPIRED*) ok ;; *) bad "reason must start with the code" ;; esac

"$mk" badframe > "$tmp/bf.bin"
"$ws" session --keys "$keys" --now 1700000000 < "$tmp/bf.bin" > "$tmp/o3"
[ "$(field "$tmp/o3" diag)" = FRAME_BINARY ] && ok || bad "badframe diag: $(cat "$tmp/o3")"
[ "$(field "$tmp/o3" close_code)" = 1003 ] && ok || bad "badframe close"

"$mk" fma > "$tmp/fma.bin"
echo '{"first_message_auth":true}' > "$tmp/fma.json"
"$ws" session --keys "$keys" --config "$tmp/fma.json" --now 1700000000 < "$tmp/fma.bin" > "$tmp/o4"
[ "$(field "$tmp/o4" diag)" = CLOSE_CLIENT ] && ok || bad "fma: $(cat "$tmp/o4")"

# No keys: every token is unknown; empty input: the head never completes.
"$ws" session --now 1700000000 < "$tmp/chat.bin" > "$tmp/o5"
[ "$(field "$tmp/o5" diag)" = AUTH_KEY_UNKNOWN ] && ok || bad "no keys: $(cat "$tmp/o5")"
"$ws" session < /dev/null > "$tmp/o6"
[ "$(field "$tmp/o6" diag)" = HS_INCOMPLETE ] && ok || bad "empty input: $(cat "$tmp/o6")"

# diags --json is valid JSON with every member, and the README table is the
# table's markdown rendering.
"$ws" diags --json > "$tmp/d.json" && ok || bad "diags --json exit"
$py - "$tmp/d.json" <<'PY' && ok || bad "diags --json content"
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) > 40
for r in rows:
    assert set(r) >= {"code", "stage", "class", "http_status", "close_code", "description"}, r
    assert r["stage"] in ("handshake", "auth", "context", "frames")
    if r["close_code"] == 1011: assert r["class"] == "internal", r
PY
"$ws" diags --markdown > "$tmp/d.md"
sed -n '/<!-- diags:begin -->/,/<!-- diags:end -->/p' "$src/README.md" | sed '1d;$d' > "$tmp/readme.md"
diff -u "$tmp/d.md" "$tmp/readme.md" > "$tmp/diff" && ok || { bad "README diagnosis table is stale (regenerate with: wsgate diags --markdown)"; head -20 "$tmp/diff"; }

# Bad arguments and files: a message and exit 2, never a crash.
expect2() {
  "$ws" "$@" < "$tmp/chat.bin" > /dev/null 2> "$tmp/err"; rc=$?
  { [ $rc -eq 2 ] && [ -s "$tmp/err" ]; } && ok || bad "'$*' gave exit $rc: $(cat "$tmp/err")"
}
expect2 session --bogus
expect2 session --chunk 0
expect2 session --now abc
expect2 session --keys
expect2 session --fault alloc@1
expect2 session --list-faults
expect2 session --keys /nonexistent/jwks.json
expect2 session --config /nonexistent/cfg.json
echo '{"keys":[{"kty":"oct","k":"!!"}]}' > "$tmp/badkeys.json"
expect2 session --keys "$tmp/badkeys.json"
echo '{"max_head_bytes":"x"}' > "$tmp/badcfg.json"
expect2 session --config "$tmp/badcfg.json"
expect2 frobnicate
expect2 diags --yaml
"$ws" > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "no command must exit 2"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
