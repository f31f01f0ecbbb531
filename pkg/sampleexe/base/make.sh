#!/bin/sh
# Rebuilds tiny386.exe.gz: the smallest Windows program Go makes (an empty
# main, 32-bit like Visual FoxPro EXEs), stripped, with no resources. sampleexe
# gives copies of it a version resource. The output is byte-for-byte
# reproducible with the same Go release.
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf 'package main\n\nfunc main() {}\n' >"$dir/main.go"
printf 'module tinyexe\n\ngo 1.26\n' >"$dir/go.mod"
(cd "$dir" && GOOS=windows GOARCH=386 CGO_ENABLED=0 go build -trimpath -ldflags='-s -w -buildid=' -o tiny386.exe .)
gzip -9 -n -c "$dir/tiny386.exe" >"$(dirname "$0")/tiny386.exe.gz"
