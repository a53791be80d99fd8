#!/usr/bin/env bash
# End to end: ramflow rules and dashboards on a real Prometheus + Alertmanager fed by
# ramflowd and a real Celery worker in a v1 memory cgroup (tests/e2e/test_prometheus_alerts.py).
# Budget: 6 minutes for the test (hard stop at 7). Skips (pending) while ramflowd is not
# built, unless CI=true. pytest prints the closing "N passed, M failed" summary.
set -uo pipefail
cd "${RAMFLOW_SRC:-$(dirname "$0")/../..}"
export PYTHONDONTWRITEBYTECODE=1
exec timeout --kill-after=20 420 /usr/bin/python3 -m pytest -p no:cacheprovider -rs -v \
  tests/e2e/test_prometheus_alerts.py
