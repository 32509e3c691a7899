#!/usr/bin/env bash
# scripts/test.sh rejects an unknown --sanitize mode with one line on stderr
# and exit 2, before setting anything up or building.
set -u
script="$1/scripts/test.sh"
err=$(bash "$script" --sanitize=memory 2>&1 >/dev/null)
rc=$?
expected="test.sh: unknown --sanitize value 'memory' (expected address,undefined or thread)"
if [[ $rc -ne 2 ]]; then
  echo "expected exit 2, got $rc" >&2
  exit 1
fi
if [[ "$err" != "$expected" ]]; then
  echo "expected stderr: $expected" >&2
  echo "got: $err" >&2
  exit 1
fi
