#!/usr/bin/env bash
# The Python agent's tests (agent/tests/) under Debian's /usr/bin/python3: real
# worker processes against a Python SOCK_SEQPACKET stand-in, and forking workers
# (os.fork, multiprocessing) against the real ramflowd of build/default (stage 10;
# skipped when not built, a failure under CI=true).
# Budget: ~30 s (15 s measured); hard limit 300 s. pytest prints its own
# "N passed, M failed" summary.
set -uo pipefail
cd "${RAMFLOW_SRC:-$(dirname "$0")/../..}"
exec timeout 300 /usr/bin/python3 -m pytest -q -p no:cacheprovider agent/tests
