#!/usr/bin/env bash
# Restart and state-file faults end to end (tests/e2e/test_restart.py): ramflowd
# SIGKILLed and restarted with --state-dir keeps a worker's leak verdict and a real
# OOM kill (v1 memory cgroup), agents reconnect, SIGTERM flushes; a read-only
# state directory is logged once and serving goes on. Budget: ~45 s (hard stop 180 s).
set -uo pipefail
cd "${RAMFLOW_SRC:-$(dirname "$0")/../..}"
export PYTHONDONTWRITEBYTECODE=1
exec timeout --kill-after=20 180 /usr/bin/python3 -m pytest -p no:cacheprovider -rs -v tests/e2e/test_restart.py
