#!/usr/bin/env bash
# End to end with real Celery workers (prefork, solo, threads, gevent, eventlet), Redis
# and ramflowd (tests/e2e/test_celery.py). Budget: ~2 min (hard stop at 300 s). Skips while
# ramflowd is not built, unless CI=true. pytest prints the closing summary.
set -uo pipefail
cd "${RAMFLOW_SRC:-$(dirname "$0")/../..}"
export PYTHONDONTWRITEBYTECODE=1
exec timeout --kill-after=20 300 /usr/bin/python3 -m pytest -p no:cacheprovider -rs -v tests/e2e/test_celery.py
