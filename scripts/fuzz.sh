#!/usr/bin/env bash
# Runs every fuzz target of the module for a bounded time each (default 20s).
# Crashers land in the package's testdata/fuzz/ and fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-20s}
# Files without a fuzz target are skipped (grep finds nothing: not an error).
for f in $(git ls-files '*_test.go'); do
  targets=$(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(f \*testing\.F\)' "$f" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+).*/\1/' || true)
  for target in $targets; do
    pkg=./$(dirname "$f")
    printf '\n=== fuzz %s %s for %s (%s)\n' "$pkg" "$target" "$t" "$(date +%T)"
    go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$t"
  done
done
