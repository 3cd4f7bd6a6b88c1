#!/usr/bin/env bash
# Records the uncommitted changes under core/ as a planted defect and reverts
# them (authoring helper; run from the repository root).
#   tests/mutants/new.sh NNN-short-name CLASS "one-line description"
set -euo pipefail
usage() { echo "usage: $0 NNN-short-name CLASS DESCRIPTION  (from the repository root, with core/ edited)" >&2; exit 2; }
[ "${1:-}" = --help ] && { echo "usage: $0 NNN-short-name CLASS DESCRIPTION"; exit 0; }
[ $# -eq 3 ] || usage
[[ $1 =~ ^[0-9]{3}-[a-z0-9-]+$ ]] || { echo "$0: bad name '$1' (NNN-short-name)" >&2; usage; }
[ -d core ] && [ -d tests/mutants ] || { echo "$0: run from the repository root" >&2; usage; }
diff=$(git diff -U2 -- core/)
[ -n "$diff" ] || { echo "$0: no change under core/" >&2; exit 2; }
[ -z "$(git diff --name-only | grep -v -e '^core/' -e '^tests/mutants/' || true)" ] ||
  { echo "$0: changes outside core/; a planted defect touches core/ only" >&2; exit 2; }
out=tests/mutants/$1.patch
{
  echo "# $1"
  echo "# class: $2"
  echo "# $3"
  echo "$diff"
} > "$out"
git checkout -- core/
git apply --check "$out"
echo "wrote $out"
