#!/usr/bin/env bash
# Leak-test quality benchmark on the committed trace corpus (first 10 seeds of
# each kind). Budget: ~2 min; the benchmark itself takes ~5 s, the rest is
# configuring/building one target when stage 10 has not built build/default.
# Fails if a target of docs/analysis.md is missed; prints "N passed, M failed".
set -euo pipefail
cd "${RAMFLOW_SRC:-$(dirname "$0")/../..}"
build=build/default
[ -f "$build/build.ninja" ] || cmake --preset default >/dev/null
cmake --build "$build" -j2 --target ramflow_leak_quality >/dev/null
timeout 120 "$build/bench/leak_quality/ramflow_leak_quality" tests/data/traces --seeds 10 --quiet
