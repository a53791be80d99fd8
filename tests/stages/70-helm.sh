#!/usr/bin/env bash
# Kubernetes packaging: Helm chart, kustomize manifests, Dockerfile, in-pod layout.
# Budget: ~150 s on 2 cores (renderer build ~30 s cold, npm ci ~10 s with the
# registry reachable, node tests ~40 s, pod-layout pytest ~60 s); pytest is capped at 300 s.
# Steps: chart-file sync check, Dockerfile check (ldd/dpkg -S), Go renderer build,
# npm ci of the pinned validators, node tests (render 1.28/1.30 + kubernetes-models,
# ajv schema, .Values paths, chart-vs-kustomize, the real ramflowd accepting the
# rendered sidecar args), tests/e2e/test_pod_layout.py.
set -uo pipefail
cd "${RAMFLOW_SRC:-$(dirname "$0")/../..}"
helm_tests=tests/helm
failed=0 passed=0
step() {  # name command...
  local name=$1; shift
  echo "--- $name"
  if "$@"; then passed=$((passed + 1)); else echo "--- $name FAILED"; failed=$((failed + 1)); fi
}

step "chart files in sync" "$helm_tests/sync-chart-files.sh" --check
step "Dockerfile" "$helm_tests/check-dockerfile.sh"
export RAMFLOW_HELM_RENDER=$PWD/$helm_tests/.build/render
step "build the Helm-compatible renderer" "$helm_tests/build-render.sh" "$RAMFLOW_HELM_RENDER"
step "npm ci (pinned validators)" npm ci --prefix "$helm_tests" --no-audit --no-fund --loglevel=error
step "chart and kustomize tests" bash -c "cd $helm_tests && node --test --test-reporter=spec ./*.test.mjs"
step "in-pod layout (pytest)" timeout 300 /usr/bin/python3 -m pytest -q tests/e2e/test_pod_layout.py

echo "$passed passed, $failed failed"
((failed == 0))
