#!/usr/bin/env bash
# ramflow added to workloads that are not ours: the real Helm with the
# post-renderer over a third-party chart (tests/kustomize). The kustomize
# component itself is checked against the webhook in stage 10
# (tests/unit/webhook/component_agreement_test.cpp) and against the chart in 70.
# Budget: ~5 s.
set -euo pipefail
cd "${RAMFLOW_SRC:-$(dirname "$0")/../..}"
timeout 300 /usr/bin/python3 -m pytest -q tests/kustomize
