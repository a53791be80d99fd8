#!/usr/bin/env bash
# End to end: the shipped ramflow rules and dashboards on a real Prometheus + Alertmanager
# fed by ramflowd and a real Celery worker in a v1 memory cgroup, leaking up to real OOM
# kills; asserts the OOM-risk notification's lead time and prints the measured ones
# (tests/e2e/test_prometheus_alerts.py; also in tests/artifacts/prometheus-lead-time.json).
# Budget: about 6 minutes (hard stop at 8). Skips (pending) while ramflowd is not built,
# unless CI=true. pytest prints the closing "N passed, M failed" summary.
set -uo pipefail
cd "${RAMFLOW_SRC:-$(dirname "$0")/../..}"
export PYTHONDONTWRITEBYTECODE=1
exec timeout --kill-after=20 480 /usr/bin/python3 -m pytest -p no:cacheprovider -rsP -v \
  tests/e2e/test_prometheus_alerts.py
