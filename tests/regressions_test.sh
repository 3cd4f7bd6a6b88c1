#!/usr/bin/env bash
# Every file under corpus/ is one git would commit (ctest "corpus_tracked"):
# an ignore rule once swallowed the fuzzers' findings (crash-*), so
# corpus/regressions/ stayed empty while the README said they were kept.
# Also: each fuzz target has a regression directory, and the two findings of
# the first campaigns are there.
#   regressions_test.sh SOURCE_DIR
set -u
if [ $# -ne 1 ] || [ ! -d "$1/corpus" ]; then
  echo "usage: regressions_test.sh SOURCE_DIR (a checkout with corpus/)" >&2
  exit 2
fi
src=$1
if ! top=$(git -C "$src" rev-parse --show-toplevel 2> /dev/null); then
  echo "SKIP: $src is not a git checkout (cannot ask git what it ignores)"
  exit 77
fi
# A copy of the tree inside another checkout (e.g. under its build/) would be
# judged by the outer checkout's rules, which ignore all of it.
if [ "$(cd "$top" && pwd -P)" != "$(cd "$src" && pwd -P)" ]; then
  echo "SKIP: $src is not a checkout of its own but lies inside $top (git would answer for that one)"
  exit 77
fi
fail=0
ignored=$(cd "$src" && find corpus -type f -print0 | git check-ignore --no-index -z --stdin | tr '\0' '\n')
if [ -n "$ignored" ]; then
  echo "FAIL: git ignores these files under corpus/ (fix .gitignore):" >&2
  printf '  %s\n' $ignored >&2
  fail=1
fi
for t in fuzz_handshake fuzz_jwt fuzz_context fuzz_frames fuzz_session; do
  [ -d "$src/corpus/regressions/$t" ] || { echo "FAIL: no corpus/regressions/$t" >&2; fail=1; }
done
# The client close 1011 that was echoed as 1011 (fuzz_frames) and the empty
# server output the judge did pointer arithmetic on (fuzz_session).
for f in fuzz_frames/911b6f26db1692861774bb2817e3fbf88d0e1a03 \
         fuzz_session/eee226bbfc6a46069be1bc0b2457ec533488da8e; do
  [ -f "$src/corpus/regressions/$f" ] || { echo "FAIL: regression $f missing" >&2; fail=1; }
done
# Regressions are named by the SHA-1 of their content, like the seeds.
while IFS= read -r -d '' f; do
  name=$(basename "$f")
  [ "$name" = .gitkeep ] && continue
  [ "$(sha1sum < "$f" | cut -c1-40)" = "$name" ] || { echo "FAIL: $f is not named by its SHA-1" >&2; fail=1; }
done < <(find "$src/corpus/regressions" -type f -print0)
[ $fail -eq 0 ] && echo "corpus: every file is tracked-able; $(find "$src/corpus/regressions" -type f ! -name .gitkeep | wc -l) regressions"
exit $fail
