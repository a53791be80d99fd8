#!/usr/bin/env bash
# The whole test suite: builds the default and the ASan+UBSan presets, then runs
# every stage under tests/stages/ in name order. Exits non-zero if any stage fails.
# Usage: scripts/test.sh [STAGE_GLOB]   e.g. scripts/test.sh '1*'
set -uo pipefail
cd "$(dirname "$0")/.."
pattern=${1:-*}
export RAMFLOW_SRC=$PWD

failed=()
passed=0
start_all=$(date +%s)
for stage in tests/stages/$pattern.sh; do
  [ -f "$stage" ] || continue
  name=$(basename "$stage" .sh)
  echo "=== stage $name"
  t0=$(date +%s)
  if bash "$stage"; then
    passed=$((passed + 1))
    echo "=== stage $name passed in $(( $(date +%s) - t0 ))s"
  else
    failed+=("$name")
    echo "=== stage $name FAILED in $(( $(date +%s) - t0 ))s"
  fi
done
echo "=== all stages: $(( $(date +%s) - start_all ))s"
if ((${#failed[@]})); then
  echo "failed stages: ${failed[*]}"
  echo "$passed passed, ${#failed[@]} failed"
  exit 1
fi
echo "$passed passed, 0 failed"
