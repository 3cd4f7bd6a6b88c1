#!/usr/bin/env bash
# ctest 'triage_sarif_schema': validates the SARIF that triage writes against
# the SARIF 2.1.0 JSON schema (python3-jsonschema).  The schema is test data
# from an npm package pinned by tests/triage/sarif-schema/package-lock.json
# (@microsoft/jest-sarif ships sarif-2.1.0-rtm.5.json), installed into
# WORKDIR at test time; nothing fetched is committed.  Exits 77 (skipped,
# with the reason) when npm, the registry or python3-jsonschema is missing.
#   sarif_schema_test.sh WORKDIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 WORKDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
work=$1
py=$(command -v python3 || true)
[ -n "$py" ] || { echo "skip: python3 not installed"; exit 77; }
"$py" -c 'import jsonschema' 2>/dev/null || { echo "skip: python3-jsonschema not installed (apt-get install python3-jsonschema)"; exit 77; }
schema=$work/node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json
mkdir -p "$work"
if [ ! -f "$schema" ] || ! cmp -s "$here/sarif-schema/package-lock.json" "$work/package-lock.json"; then
  command -v npm >/dev/null || { echo "skip: npm not installed: cannot install the SARIF schema"; exit 77; }
  cp "$here/sarif-schema/package.json" "$here/sarif-schema/package-lock.json" "$work/"
  if ! (cd "$work" && timeout 180 npm ci --ignore-scripts --no-audit --no-fund >npm.log 2>&1); then
    echo "skip: npm ci failed (offline?): $(tail -1 "$work/npm.log")"
    rm -f "$work/package-lock.json"
    exit 77
  fi
fi
[ -f "$schema" ] || { echo "FAIL: $schema missing after npm ci"; exit 1; }
WSGATE_SARIF_SCHEMA=$schema exec "$py" "$here/test_triage.py" Sarif -v
