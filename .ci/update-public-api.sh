#!/usr/bin/env bash
# Adds every public symbol the build reports as undeclared (RS0016) to the project's PublicAPI.Unshipped.txt.
# Usage: bash .ci/update-public-api.sh src/MnistNet   (then review the diff: it is the change to the public API)
set -euo pipefail
project=${1:?usage: update-public-api.sh <project folder>}
file="$project/PublicAPI.Unshipped.txt"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
dotnet build "$project" -c Release --no-incremental 2>&1 > "$log" || true
grep -o "error RS0016: Symbol '.*' is not part of the declared public API" "$log" \
  | sed "s/^error RS0016: Symbol '//; s/' is not part of the declared public API$//" \
  | sort -u >> "$file" || true
{ head -n 1 "$file"; tail -n +2 "$file" | sort -u; } > "$log.sorted" && mv "$log.sorted" "$file"
echo "$(($(wc -l < "$file") - 1)) symbols in $file"
