#!/usr/bin/env bash
# Runs every fuzz target of the project for a short time each:
#   bash scripts/fuzz.sh [seconds-per-target]   (default 5)
# CI runs it briefly; run it with a larger number before a release.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-5}"
status=0
while IFS= read -r file; do
	pkg="./$(dirname "$file")"
	for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
		echo "--- fuzz $pkg $target (${secs}s)"
		if ! go test -run='^$' -fuzz="^${target}\$" -fuzztime="${secs}s" "$pkg"; then
			status=1
		fi
	done
done < <(grep -rlE '^func Fuzz[A-Za-z0-9_]+\(' --include='*_test.go' . | sort)
exit $status
