#!/usr/bin/env bash
# Load and cardinality bombs against the real ramflowd (tests/soak/): a soak of
# RAMFLOW_SOAK_SECONDS (90 s in CI) with 4 agent processes x 8 connections,
# malformed input, gaps, claimed drops, reconnects and SIGKILLs, checked exactly
# against the clients' ledgers, RSS growth < 2 MiB after warm-up, /metrics p99
# < 20 ms; 1,000,000 function names folded into K + "other"; 3400 pids coming
# and going against --max-processes; the connection cap's ledger (a raw client
# and a real agent refused again and again), a seq jump of 2^53 repeated past
# 2^64, both protocol versions' agents counted exactly; series churn in a real
# Prometheus while a real Celery prefork worker recycles 4 children a second
# (RAMFLOW_CHURN_SECONDS, 60 s in CI, projected to the 240 s budget; 77 s
# measured). Budget: ~3.5 min (3 min 34 s measured with the churn test, at load
# average 3; hard stop 330 s).
set -uo pipefail
cd "${RAMFLOW_SRC:-$(dirname "$0")/../..}"
export PYTHONDONTWRITEBYTECODE=1
export RAMFLOW_SOAK_SECONDS="${RAMFLOW_SOAK_SECONDS:-90}"
export RAMFLOW_CHURN_SECONDS="${RAMFLOW_CHURN_SECONDS:-60}"
exec timeout --kill-after=20 330 /usr/bin/python3 -m pytest -p no:cacheprovider -q -rs tests/soak/
