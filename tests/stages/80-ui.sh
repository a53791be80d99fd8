#!/usr/bin/env bash
# Stage 80: the built-in dashboard and the standalone HTML report in real headless
# Chromium (tests/ui/run-ui-test.mjs). Budget: 120 s (a run takes ~15 s).
# Prints "N passed, M failed"; screenshots go to tests/artifacts/ui/.
set -euo pipefail
cd "${RAMFLOW_SRC:-$(dirname "$0")/../..}/tests/ui"
if [ ! -x /usr/bin/chromium ]; then
  echo "80-ui: /usr/bin/chromium missing: run scripts/install-deps.sh"; echo "0 passed, 1 failed"; exit 1
fi
if ! command -v node >/dev/null; then
  echo "80-ui: node missing: run scripts/install-deps.sh"; echo "0 passed, 1 failed"; exit 1
fi
# playwright-core pinned by package-lock.json; installs only when absent or changed.
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
timeout 120 node run-ui-test.mjs
