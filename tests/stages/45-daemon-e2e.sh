#!/usr/bin/env bash
# ramflowd end to end as a user meets it: CLI and configuration, the HTTP
# surface, malformed kernel files, SIGTERM, and `ramflowd run` on both example
# stories (tests/e2e/test_daemon.py, test_run_examples.py). Needs build/default
# (stage 10). Budget: ~2 min (the two examples take ~35 s); hard stop at 300 s.
set -uo pipefail
cd "${RAMFLOW_SRC:-$(dirname "$0")/../..}"
export PYTHONDONTWRITEBYTECODE=1
cd tests/e2e
exec timeout --kill-after=20 300 /usr/bin/python3 -m pytest -p no:cacheprovider -q -rs test_daemon.py test_security.py test_socket_takeover.py test_run_examples.py
