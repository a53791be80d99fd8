#!/usr/bin/env bash
# The main job on one machine: builds ramflowd (release preset) and runs the
# "forgotten search cache" story under `ramflowd run`: the live dashboard URL
# is printed at start, the executive summary and the HTML report path at the end.
#   scripts/demo.sh            the leaking story (ends BLOATED)
#   scripts/demo.sh pipeline   the optimised pipeline (ends SECURE)
#   scripts/demo.sh serve      the sidecar watching this machine's Python processes
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
bin=build/release/src/ramflowd
case "${1:-cache}" in
  cache) exec "$bin" run --listen 127.0.0.1:9977 -- /usr/bin/python3 examples/search_cache.py ;;
  pipeline) exec "$bin" run --listen 127.0.0.1:9977 -- /usr/bin/python3 examples/optimised_pipeline.py ;;
  serve)
    echo "ramflowd: dashboard at http://127.0.0.1:9977/  metrics at http://127.0.0.1:9977/metrics (Ctrl-C stops)"
    exec "$bin" serve --listen 127.0.0.1:9977 ;;
  *) echo "usage: scripts/demo.sh [cache|pipeline|serve]" >&2; exit 2 ;;
esac
