#!/usr/bin/env bash
# Kubernetes packaging: Helm chart (the real Helm), kustomize manifests, Dockerfile,
# in-pod layout. The image and real pods are stage 75.
# Budget: ~3 min on 2 cores (npm ci ~35 s when the lockfile changed, node tests
# ~80 s, relabelings ~7 s, pod-layout pytest ~60 s); pytest is capped at 300 s.
# Steps: chart-file sync check, Dockerfile check (ldd/dpkg -S), npm ci of the pinned
# validators, node tests (helm lint --strict, helm template for 1.28/1.30 +
# kubernetes-models/cert-manager models, the three modes, the webhook's certificate
# and lookup, the umbrella chart, schema failures through helm, the job label with
# promtool, Pod Security levels, .Values paths, chart-vs-kustomize, the real ramflowd
# accepting the rendered sidecar and webhook args), full-values relabelings through a
# real Prometheus, tests/e2e/test_pod_layout.py.
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
step "helm on PATH" bash -c 'helm version --short'
# npm ci reinstalls from scratch (~30 s): skip it when node_modules came from this very lockfile.
npm_install() {
  local stamp=$helm_tests/node_modules/.ramflow-lock.sha256 want
  want=$(sha256sum "$helm_tests/package-lock.json" | cut -d' ' -f1)
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && { echo "node_modules matches package-lock.json"; return 0; }
  npm ci --prefix "$helm_tests" --no-audit --no-fund --loglevel=error && echo "$want" > "$stamp"
}
step "npm ci (pinned validators)" npm_install
step "chart and kustomize tests" bash -c "cd $helm_tests && node --test --test-reporter=spec ./*.test.mjs"
step "full-values relabelings through a real Prometheus (pytest)" timeout 120 /usr/bin/python3 -m pytest -q tests/helm/test_relabelings.py
step "in-pod layout (pytest)" timeout 300 /usr/bin/python3 -m pytest -q tests/e2e/test_pod_layout.py

echo "$passed passed, $failed failed"
((failed == 0))
