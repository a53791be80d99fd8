#!/usr/bin/env bash
# Allocation-site captures end to end (tests/e2e/test_capture.py): ramflowd capture on known
# leaks (the leaking line first, ctypes malloc native, a clean worker quiet), the automatic
# capture of a high leak once within the hour, a sidecar SIGKILLed mid-window, the pre-OOM
# capture before a real OOM kill in a v1 memory cgroup, a real Celery prefork child.
# Budget: ~70 s (hard stop 240 s). Skips while ramflowd is not built, unless CI=true.
set -uo pipefail
cd "${RAMFLOW_SRC:-$(dirname "$0")/../..}"
export PYTHONDONTWRITEBYTECODE=1
exec timeout --kill-after=20 240 /usr/bin/python3 -m pytest -p no:cacheprovider -rs -v tests/e2e/test_capture.py
