#!/usr/bin/env bash
# ramflowd against a hostile client on its HTTP port and a poisoned state file
# (issue 15): header floods, slowloris, connection floods, clients that never
# read, SIGTERM under all of it, a port in use, SIGHUP/SIGUSR1/SIGUSR2
# (tests/e2e/test_hostile_http.py); hostile state files under a real 128 MiB
# v1 memory cgroup and a load killed half-way (tests/e2e/test_hostile_state.py).
# Needs build/default (stage 10); the cgroup cases need root and skip otherwise.
# Budget: ~45 s measured; hard stop at 240 s.
set -uo pipefail
cd "${RAMFLOW_SRC:-$(dirname "$0")/../..}"
export PYTHONDONTWRITEBYTECODE=1
cd tests/e2e
exec timeout --kill-after=20 240 /usr/bin/python3 -m pytest -p no:cacheprovider -q -rs test_hostile_http.py test_hostile_state.py
