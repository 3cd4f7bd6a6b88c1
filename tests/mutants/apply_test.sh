#!/usr/bin/env bash
# ctest "mutants_apply": every planted defect (tests/mutants/NNN-*.patch)
# still applies to the current tree (git apply --check against the working
# tree), touches core/ only and carries its header (name, class,
# description), so that edits to core/ that break a patch are caught at once.
# Before that it proves the check can fail: a patch whose context no longer
# matches, one that touches a file outside core/ and one without its header
# must each be refused.  Exits 77 (skipped) outside a git checkout.
#   apply_test.sh SOURCE_DIR
set -uo pipefail
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
  echo "usage: $0 SOURCE_DIR" >&2
  exit 2
fi
src=$(cd "$1" && pwd)
dir=$src/tests/mutants
if ! git -C "$src" rev-parse --is-inside-work-tree > /dev/null 2>&1 ||
  [ "$(git -C "$src" rev-parse --show-toplevel 2>/dev/null)" != "$src" ]; then
  echo "SKIP: $src is not the top of a git checkout; git apply --check needs one"
  exit 77
fi

# Prints what is wrong with patch $1 (named $2) and returns 1, or returns 0.
check() {
  local p=$1 name=$2 l1 l2 l3 files
  l1=$(sed -n 1p "$p") l2=$(sed -n 2p "$p") l3=$(sed -n 3p "$p")
  [ "$l1" = "# $name" ] || { echo "$name: line 1 is not '# $name'"; return 1; }
  [[ $l2 =~ ^#\ class:\ .+ ]] || { echo "$name: line 2 is not '# class: ...'"; return 1; }
  [[ $l3 =~ ^#\ .{10,} ]] || { echo "$name: line 3 is not a description"; return 1; }
  files=$(sed -n -E 's|^diff --git a/([^ ]+) b/.*|\1|p' "$p")
  [ -n "$files" ] || { echo "$name: changes no file"; return 1; }
  for f in $files; do
    [[ $f == core/* ]] || { echo "$name: touches $f (planted defects touch core/ only)"; return 1; }
  done
  local err
  if ! err=$(git -C "$src" apply --check "$p" 2>&1); then
    echo "$name: no longer applies: $(echo "$err" | head -2 | tr '\n' ' ')"
    return 1
  fi
  return 0
}

fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
patches=("$dir"/[0-9][0-9][0-9]-*.patch)
[ -e "${patches[0]}" ] || { echo "FAIL: no patches in $dir"; exit 1; }

# The check can fail.
p0=${patches[0]} n0=$(basename "${patches[0]}" .patch)
check "$p0" "$n0" > /dev/null || { echo "FAIL: $n0 itself does not pass: $(check "$p0" "$n0")"; exit 1; }
# (1) a removed line that is not in the file any more
awk '!done && /^-[^-]/ { print "-this line is not in the file"; done = 1; next } { print }' "$p0" > "$tmp/$n0.patch"
# (2) the same change said to be in faults/
sed -E 's#(a|b)/core/#\1/faults/#g' "$p0" > "$tmp/outside.patch"
sed -i "1s/.*/# outside/" "$tmp/outside.patch"
# (3) no header
sed '1,3d' "$p0" > "$tmp/nohead.patch"
for bad in "$tmp/$n0.patch:$n0" "$tmp/outside.patch:outside" "$tmp/nohead.patch:nohead"; do
  if why=$(check "${bad%%:*}" "${bad##*:}"); then
    echo "FAIL: the check accepted a broken patch (${bad##*:})"
    fail=1
  else
    echo "self-test: refused as expected: $why"
  fi
done

# The real set.
declare -A seen
n=0
for p in "${patches[@]}"; do
  name=$(basename "$p" .patch)
  num=${name%%-*}
  [ -z "${seen[$num]:-}" ] || { echo "FAIL: number $num used twice ($name, ${seen[$num]})"; fail=1; }
  seen[$num]=$name
  if why=$(check "$p" "$name"); then
    n=$((n + 1))
  else
    echo "FAIL: $why"
    fail=1
  fi
done
echo "mutants_apply: $n of ${#patches[@]} planted defects apply to the current tree"
[ ${#patches[@]} -ge 24 ] || { echo "FAIL: only ${#patches[@]} planted defects (at least 24 expected)"; fail=1; }
exit $fail
