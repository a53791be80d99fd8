#!/usr/bin/env bash
# OOM forensics end to end (tests/e2e/test_oom.py): real OOM kills in real v1 memory
# cgroups, ramflowd with the eBPF watcher on, off, inside a pid namespace, and without
# the BPF capabilities (a real load failure). Budget: ~90 s (hard stop at 240 s). Skips (pending) while
# ramflowd is not built, unless CI=true; RAMFLOW_REQUIRE_BPF=1 turns eBPF skips into
# failures. pytest prints the closing "N passed, M failed" summary.
set -uo pipefail
cd "${RAMFLOW_SRC:-$(dirname "$0")/../..}"
export PYTHONDONTWRITEBYTECODE=1
exec timeout --kill-after=20 240 /usr/bin/python3 -m pytest -p no:cacheprovider -rs -v tests/e2e/test_oom.py
