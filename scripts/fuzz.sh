#!/usr/bin/env bash
# Runs every fuzz target of the project for a number of executions each:
#   bash scripts/fuzz.sh [executions-per-target]   (default 5000)
# CI runs it briefly; run it with a larger number before a release.
#
# The budget is a count, not a duration: with a duration (-fuzztime=3s) Go's
# fuzz coordinator can report "context deadline exceeded" as a failure when
# the deadline fires while a worker is busy (go.dev/issue/75804, fixed only in
# Go 1.27). A count has no deadline to race; -timeout still bounds a target.
set -euo pipefail
cd "$(dirname "$0")/.."
execs="${1:-5000}"
status=0
while IFS= read -r file; do
	pkg="./$(dirname "$file")"
	for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
		echo "--- fuzz $pkg $target (${execs} executions)"
		if ! go test -run='^$' -fuzz="^${target}\$" -fuzztime="${execs}x" -timeout=5m "$pkg"; then
			status=1
		fi
	done
done < <(grep -rlE '^func Fuzz[A-Za-z0-9_]+\(' --include='*_test.go' . | sort)
exit $status
