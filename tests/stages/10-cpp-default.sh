#!/usr/bin/env bash
# Builds the default preset (RelWithDebInfo) and runs every C++ test: unit tests
# on fixtures, live tests on this machine's kernel (real processes, real v1
# memory cgroups, real OOM kills, eBPF), the golden /metrics test.
# Budget: build ~6 min cold on 2 cores, tests ~3 min. eBPF: RAMFLOW_WITH_BPF
# (AUTO|ON|OFF, CI sets ON).
set -euo pipefail
cd "${RAMFLOW_SRC:-$(dirname "$0")/../..}"
cmake --preset default -DRAMFLOW_WITH_BPF="${RAMFLOW_WITH_BPF:-AUTO}" \
  -DRAMFLOW_LINE_TABLES_ONLY="${RAMFLOW_LINE_TABLES_ONLY:-OFF}" >/dev/null
cmake --build --preset default -j2
cd build/default
timeout 900 ctest --output-on-failure -j2 --timeout 300
