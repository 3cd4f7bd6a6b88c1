#!/usr/bin/env bash
# Command-line contract (POLICY §2, §5): outcome line, --out bytes, chunking
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

# Faults (POLICY §4): the outcome lists what was injected, and the diag
# blames it; --list-faults prints every hit on stderr.
"$ws" session --keys "$keys" --now 1700000000 --fault attr@2 < "$tmp/chat.bin" > "$tmp/f1"
[ "$(field "$tmp/f1" diag)" = CTX_ATTR_THREAD_ID ] && ok || bad "attr@2: $(cat "$tmp/f1")"
[ "$(field "$tmp/f1" http_status)" = 500 ] && ok || bad "attr@2 status"
$py - "$tmp/f1" <<'PY' && ok || bad "attr@2 faults member: $(cat "$tmp/f1")"
import json, re, sys
f = json.load(open(sys.argv[1]))["faults"]
assert len(f) == 1 and f[0]["kind"] == "attr" and f[0]["n"] == 2, f
assert re.fullmatch(r"faults/inject\.c:\d+ attr:thread_id", f[0]["site"]), f
PY
"$ws" session --keys "$keys" --now 1700000000 --fault idgen@1 < "$tmp/chat.bin" > "$tmp/f2"
[ "$(field "$tmp/f2" diag)" = CLOSE_CLIENT ] && ok || bad "idgen@1 must be absorbed: $(cat "$tmp/f2")"
grep -q '"trail":\[{"event":"idgen_fallback","attr":"thread_id"}\]' "$tmp/f2" && ok || bad "idgen@1 trail: $(cat "$tmp/f2")"
"$ws" session --keys "$keys" --now 1700000000 --fault 'idgen@*' < "$tmp/chat.bin" > "$tmp/f3"
[ "$(field "$tmp/f3" diag)" = CTX_IDGEN_EXHAUSTED ] && ok || bad "idgen@*: $(cat "$tmp/f3")"
[ "$(field "$tmp/f3" http_status)" = 503 ] && ok || bad "idgen@* status"
"$ws" session --keys "$keys" --now 1700000000 --config "$tmp/fma.json" --fault 'idgen@*' < "$tmp/fma.bin" > "$tmp/f4"
[ "$(field "$tmp/f4" diag)" = CTX_IDGEN_EXHAUSTED ] && ok || bad "fma idgen@*: $(cat "$tmp/f4")"
[ "$(field "$tmp/f4" close_code)" = 1013 ] && ok || bad "fma idgen@* close: $(cat "$tmp/f4")"
"$ws" session --keys "$keys" --now 1700000000 --fault 'alloc@1' < "$tmp/chat.bin" > "$tmp/f5"
[ "$(field "$tmp/f5" diag)" = HS_NOMEM ] && ok || bad "alloc@1: $(cat "$tmp/f5")"
"$ws" session --keys "$keys" --now 1700000000 --list-faults < "$tmp/chat.bin" > "$tmp/f6" 2> "$tmp/hits"
cmp -s "$tmp/o1" "$tmp/f6" && ok || bad "--list-faults changes the outcome"
$py - "$tmp/hits" <<'PY' && ok || bad "--list-faults lines"
import json, re, sys
hits = [json.loads(l) for l in open(sys.argv[1])]
kinds = {h["kind"] for h in hits}
assert kinds == {"alloc", "idgen", "attr", "random"}, kinds
for k in kinds:
    ns = [h["n"] for h in hits if h["kind"] == k]
    assert ns == list(range(1, len(ns) + 1)), (k, ns)
for h in hits:
    assert re.fullmatch(r"(core|faults)/[a-z_]+\.c:\d+ \S+( \[.*\])?", h["site"]), h
assert any("[OpenSSL " in h["site"] for h in hits)
assert any("[cJSON]" in h["site"] for h in hits)
assert sum("[wslay]" in h["site"] for h in hits) == 1
PY
"$ws" session --keys "$keys" --now 1700000000 --fault-rate 0.2 --fault-seed 9 < "$tmp/chat.bin" > "$tmp/r1"
"$ws" session --keys "$keys" --now 1700000000 --fault-rate 0.2 --fault-seed 9 < "$tmp/chat.bin" > "$tmp/r2"
cmp -s "$tmp/r1" "$tmp/r2" && ok || bad "--fault-rate with a seed is not reproducible"
grep -q '"faults":\[{' "$tmp/r1" && ok || bad "--fault-rate 0.2 injected nothing: $(cat "$tmp/r1")"

# sweep: clean summary last, exit 0; then a failing point replays.
"$ws" sweep --keys "$keys" --now 1700000000 --json-out "$tmp/fails" "$tmp/chat.bin" "$tmp/exp.bin" > "$tmp/s1" 2> "$tmp/s1err"; rc=$?
[ $rc -eq 0 ] && ok || bad "sweep exit $rc: $(cat "$tmp/s1err")"
[ "$(wc -l < "$tmp/s1")" -eq 3 ] && ok || bad "sweep: one line per input plus the summary"
tail -n 1 "$tmp/s1" | grep -q '"inputs":2,"points":[1-9][0-9]*,"absorbed":[0-9]*,"diagnosed":[0-9]*,"unexplained":0,"misattributed":0,"leaked":0,"crashed":0' && ok || bad "sweep summary: $(tail -n 1 "$tmp/s1")"
grep -q 'chat.bin: [0-9]* points, 0 failing' "$tmp/s1err" && ok || bad "sweep progress: $(cat "$tmp/s1err")"
[ ! -s "$tmp/fails" ] && ok || bad "clean sweep wrote failures"
"$ws" sweep --keys "$keys" --now 1700000000 --kinds attr --chunks none "$tmp/chat.bin" > "$tmp/s2" 2>/dev/null
# By default each input is swept again in 1- and 7-byte pieces: 3 passes.
"$ws" sweep --keys "$keys" --now 1700000000 --kinds attr "$tmp/chat.bin" > "$tmp/s3" 2>/dev/null
$py - "$tmp/s2" "$tmp/s3" <<'PY' && ok || bad "--chunks: $(tail -n 1 "$tmp/s3")"
import json, sys
a, b = (json.loads(open(p).read().splitlines()[-1]) for p in sys.argv[1:3])
assert b["points"] == 3 * a["points"] and b["unstable"] == 0 and b["unfired"] == 0, (a, b)
PY
"$ws" sweep --keys "$keys" --now 1700000000 --chunks 0 "$tmp/chat.bin" > /dev/null 2>"$tmp/s4" && bad "--chunks 0 accepted" || { grep -q "chunks" "$tmp/s4" && ok || bad "--chunks 0: $(cat "$tmp/s4")"; }
$py - "$tmp/s2" <<'PY' && ok || bad "--kinds attr: $(tail -n 1 "$tmp/s2")"
import json, sys
s = json.loads(open(sys.argv[1]).read().splitlines()[-1])
# each hit failed once and from there on, plus attr.<name>@* for each of
# the 5 attributes (all are read back in a session that gets its context)
assert s["hits"]["attr"] > 0 and s["points"] == 2 * s["hits"]["attr"] + 5, s
PY

# The README's sample fault sites are ones the program reports now (they
# are quoted from real output, and line numbers move).
{ "$ws" session --keys "$keys" --now 1700000000 --list-faults < "$tmp/chat.bin" 2>&1 >/dev/null
  cat "$tmp/f1"; } | grep -o '"site":"[^"]*"' | sort -u > "$tmp/sites"
grep -o '"site":"[^"]*"' "$src/README.md" | grep -v '"site":"\.\.\."' | sort -u > "$tmp/readme_sites"
[ -s "$tmp/readme_sites" ] && ok || bad "README quotes no fault site"
while read -r site; do
  grep -qxF "$site" "$tmp/sites" && ok ||
    bad "README quotes $site, which wsgate no longer reports: update the Faults section from 'wsgate session --list-faults' and '--fault attr@2' on mkstream chat"
done < "$tmp/readme_sites"

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
expect2 session --fault alloc@0
expect2 session --fault bogus@1
expect2 session --fault alloc@x
expect2 session --fault-rate 2
expect2 session --fault-seed 3
expect2 sweep --keys "$keys"
expect2 sweep --kinds alloc,bogus "$tmp/chat.bin"
expect2 sweep --fault alloc@1 "$tmp/chat.bin"
expect2 sweep /nonexistent/input.bin
expect2 session --keys /nonexistent/jwks.json
expect2 session --config /nonexistent/cfg.json
echo '{"keys":[{"kty":"oct","k":"!!"}]}' > "$tmp/badkeys.json"
expect2 session --keys "$tmp/badkeys.json"
echo '{"max_head_bytes":"x"}' > "$tmp/badcfg.json"
expect2 session --config "$tmp/badcfg.json"
expect2 frobnicate
expect2 diags --yaml
"$ws" > /dev/null 2>&1; [ $? -eq 2 ] && ok || bad "no command must exit 2"

expect2 session --fault alloc@99999999999999999999
expect2 session "$tmp/chat.bin" "$tmp/exp.bin"
expect2 session /nonexistent/input.bin
expect2 session --max-input -1
expect2 help frobnicate
expect2 version extra
expect2 sweep --max-input 5 "$tmp/chat.bin"

# Help: every command has its usage and options; a bad argument prints what
# was wrong and that command's usage line only.
"$ws" help > "$tmp/h" && grep -q '^  session ' "$tmp/h" && grep -q '^  sweep ' "$tmp/h" && ok || bad "help: $(cat "$tmp/h")"
for c in session sweep diags help version; do
  "$ws" help $c > "$tmp/h1" && grep -q "^usage: wsgate $c" "$tmp/h1" && ok || bad "help $c: $(cat "$tmp/h1")"
  "$ws" $c --help > "$tmp/h2" && cmp -s "$tmp/h1" "$tmp/h2" && ok || bad "$c --help differs from help $c"
done
for o in --keys --config --now --chunk --max-input --seed --out --fault --fault-rate --fault-seed --list-faults; do
  "$ws" help session | grep -q "^  $o " && ok || bad "help session does not explain $o"
done
"$ws" --version | grep -Eq '^wsgate [0-9]+\.[0-9]+\.[0-9]+$' && ok || bad "--version: $("$ws" --version)"
"$ws" --help | cmp -s - "$tmp/h" && ok || bad "--help differs from help"
"$ws" session --chunk 0 < /dev/null 2> "$tmp/e" > /dev/null
grep -q "^wsgate: session: --chunk: '0' is not a size" "$tmp/e" && grep -q '^usage: wsgate session' "$tmp/e" &&
  ! grep -q 'wsgate sweep\|wsgate diags' "$tmp/e" && ok || bad "usage error prints more than its command: $(cat "$tmp/e")"

# session FILE is the same as standard input; '-' is standard input.
"$ws" session --keys "$keys" --now 1700000000 --out "$tmp/outf" "$tmp/chat.bin" > "$tmp/of"
cmp -s "$tmp/o1" "$tmp/of" && cmp -s "$tmp/out1" "$tmp/outf" && ok || bad "session FILE differs from stdin: $(cat "$tmp/of")"
"$ws" session --keys "$keys" --now 1700000000 - < "$tmp/chat.bin" > "$tmp/od"
cmp -s "$tmp/o1" "$tmp/od" && ok || bad "session - differs from stdin"
# The input limit: the outcome of what was read, a message, exit 1; an input
# of exactly the limit is not over it.
n=$(wc -c < "$tmp/chat.bin")
"$ws" session --keys "$keys" --now 1700000000 --max-input 100 "$tmp/chat.bin" > "$tmp/ol" 2> "$tmp/el"; rc=$?
[ $rc -eq 1 ] && [ "$(field "$tmp/ol" diag)" = HS_INCOMPLETE ] && grep -q 'longer than --max-input 100 bytes' "$tmp/el" && ok ||
  bad "--max-input 100: exit $rc: $(cat "$tmp/ol" "$tmp/el")"
"$ws" session --keys "$keys" --now 1700000000 --max-input "$n" "$tmp/chat.bin" > "$tmp/ol2" 2> "$tmp/el2"; rc=$?
[ $rc -eq 0 ] && cmp -s "$tmp/o1" "$tmp/ol2" && [ ! -s "$tmp/el2" ] && ok || bad "--max-input exactly the input: exit $rc: $(cat "$tmp/el2")"
# Garbage is streamed, not read whole: the session ends at the head limit
# and the rest is never read (a bounded amount of memory).
head -c 20000000 /dev/zero | tr '\0' 'A' > "$tmp/garbage.bin"
"$ws" session --max-input 0 "$tmp/garbage.bin" > "$tmp/og"
[ "$(field "$tmp/og" diag)" = HS_HEAD_TOO_LARGE ] && ok || bad "garbage: $(cat "$tmp/og")"

# A key set with no usable key is an error; each skipped key is named.
echo '{"keys":[{"kty":"EC","kid":"p384","crv":"P-384","x":"AA","y":"AA"},{"kty":"oct","kid":"h","alg":"hs256","k":"AA"}]}' > "$tmp/nokeys.json"
"$ws" session --keys "$tmp/nokeys.json" < "$tmp/chat.bin" > "$tmp/ok1" 2> "$tmp/ek1"; rc=$?
[ $rc -eq 2 ] && [ ! -s "$tmp/ok1" ] && ok || bad "no usable key: exit $rc"
grep -q 'warning: jwks: key 0 (kid "p384") skipped: crv "P-384": not a supported EC curve' "$tmp/ek1" &&
  grep -q 'warning: jwks: key 1 (kid "h") skipped: alg "hs256": alg names are case-sensitive' "$tmp/ek1" &&
  grep -q 'jwks: no usable key: 2 skipped' "$tmp/ek1" && ok || bad "no usable key messages: $(cat "$tmp/ek1")"
$py - "$keys" "$tmp/somekeys.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["keys"].append({"kty": "EC", "kid": "p384", "crv": "P-384", "x": "AA", "y": "AA"})
json.dump(d, open(sys.argv[2], "w"))
PY
"$ws" session --keys "$tmp/somekeys.json" --now 1700000000 < "$tmp/chat.bin" > "$tmp/ok2" 2> "$tmp/ek2"; rc=$?
[ $rc -eq 0 ] && cmp -s "$tmp/o1" "$tmp/ok2" && grep -q 'key 7 (kid "p384") skipped' "$tmp/ek2" && ok || bad "one skipped key: exit $rc: $(cat "$tmp/ek2")"

# A fault that never fired is a warning; one that fired is not.
"$ws" session --keys "$keys" --now 1700000000 --fault alloc@99999 --fault attr@2 < "$tmp/chat.bin" > "$tmp/fu" 2> "$tmp/eu"
grep -q '^wsgate: warning: --fault alloc@99999 never fired: the session made [0-9]* alloc hits$' "$tmp/eu" &&
  ! grep -q 'attr@2' "$tmp/eu" && ok || bad "unfired fault warning: $(cat "$tmp/eu")"
[ "$(field "$tmp/fu" diag)" = CTX_ATTR_THREAD_ID ] && ok || bad "alloc@99999 + attr@2: $(cat "$tmp/fu")"
# ws_session_new itself failing: the client still gets the table's 503.
"$ws" session --keys "$keys" --now 1700000000 --fault alloc@1 --out "$tmp/o503" < "$tmp/chat.bin" > "$tmp/f503"
head -n 1 "$tmp/o503" | grep -q '^HTTP/1.1 503 ' && ok || bad "alloc@1 did not send a 503: $(head -c 200 "$tmp/o503")"
[ "$(field "$tmp/f503" http_status)" = 503 ] && ok || bad "alloc@1 http_status: $(cat "$tmp/f503")"
[ "$(field "$tmp/f503" reason)" = "$(sed -n '/^\r$/,$p' "$tmp/o503" | tail -n +2)" ] && ok || bad "alloc@1 reason is not the body sent"
# Nothing sent: reason is null.
[ "$(field "$tmp/o6" reason)" = null ] && ok || bad "empty input: reason must be null: $(cat "$tmp/o6")"

# sweep: a missing input is reported, the others run, the summary counts
# it, exit 2; a directory is walked.
"$ws" sweep --keys "$keys" --now 1700000000 --kinds attr "$tmp/chat.bin" /nonexistent/x.bin "$tmp/exp.bin" > "$tmp/sm" 2> "$tmp/esm"; rc=$?
[ $rc -eq 2 ] && ok || bad "sweep with a missing input: exit $rc"
grep -q '/nonexistent/x.bin: No such file' "$tmp/esm" && ok || bad "missing input not reported: $(cat "$tmp/esm")"
tail -n 1 "$tmp/sm" | grep -q '"inputs":2,.*"missing_inputs":1,' && ok || bad "sweep summary with a missing input: $(tail -n 1 "$tmp/sm")"
mkdir -p "$tmp/dir/sub" && cp "$tmp/chat.bin" "$tmp/dir/a.bin" && cp "$tmp/exp.bin" "$tmp/dir/sub/b.bin" && touch "$tmp/dir/.hidden"
"$ws" sweep --keys "$keys" --now 1700000000 --kinds attr "$tmp/dir" > "$tmp/sd" 2>/dev/null; rc=$?
[ $rc -eq 0 ] && tail -n 1 "$tmp/sd" | grep -q '"inputs":2,' && grep -q '"input":"[^"]*/dir/a.bin"' "$tmp/sd" &&
  grep -q '"input":"[^"]*/dir/sub/b.bin"' "$tmp/sd" && ok || bad "sweep of a directory: exit $rc: $(cat "$tmp/sd")"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
