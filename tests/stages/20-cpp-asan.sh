#!/usr/bin/env bash
# The same C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer (the
# debug preset); LeakSanitizer must report nothing.
# Budget: build ~7 min cold on 2 cores, tests ~5 min.
set -euo pipefail
cd "${RAMFLOW_SRC:-$(dirname "$0")/../..}"
cmake --preset debug -DRAMFLOW_WITH_BPF="${RAMFLOW_WITH_BPF:-AUTO}" \
  -DRAMFLOW_LINE_TABLES_ONLY="${RAMFLOW_LINE_TABLES_ONLY:-OFF}" >/dev/null
cmake --build --preset debug -j2
cd build/debug
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
timeout 1200 ctest --output-on-failure -j2 --timeout 400
