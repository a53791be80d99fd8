#!/usr/bin/env bash
# libFuzzer targets of tests/fuzz/ (agent decoder, /proc and cgroup readers,
# config loader, state file, HTTP request path), each run for a bounded time on its seeds plus the corpus it
# grew in earlier runs; any crash, leak, timeout or sanitizer report fails.
# Budget: RAMFLOW_FUZZ_SECONDS (default 20) x 15 targets, one per core at a time; a cold
# build adds 2 min of CPU (4 min wall measured while other builds shared the 2 cores).
set -uo pipefail
cd "${RAMFLOW_SRC:-$(dirname "$0")/../..}"

seconds="${RAMFLOW_FUZZ_SECONDS:-20}"
build=build/fuzz

cmake -S . -B "$build" -G Ninja \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE= -DCMAKE_CXX_FLAGS="-O1 -g" \
  -DRAMFLOW_SANITIZE=ON -DRAMFLOW_BUILD_FUZZERS=ON \
  -DRAMFLOW_BUILD_TESTS=OFF -DRAMFLOW_WITH_BPF=OFF >/dev/null || { echo "configure failed"; exit 1; }
cmake --build "$build" -j2 --target ramflow_fuzzers || { echo "build failed"; exit 1; }

mkdir -p "$build/logs" "$build/artifacts"
scratch="$(mktemp -d "$( [ -w /dev/shm ] && echo /dev/shm || echo /tmp )/ramflow-fuzz-stage.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
export RAMFLOW_FUZZ_SCRATCH="$scratch"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# One target per core at a time: each still fuzzes for $seconds of its own.
cores=$(nproc)
fuzz() {  # fuzz NAME SEEDS: runs one target, writes its verdict line to $build/logs/NAME.result
  local name=$1 seeds=$2 log="$build/logs/$1.log" rc done_line
  mkdir -p "$build/corpus/$name"
  # New inputs go to the first directory (build/), never into the committed seeds.
  timeout $((seconds + 120)) "$build/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$name-" \
    "$build/corpus/$name" "$seeds" >"$log" 2>&1
  rc=$?
  done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)"
  if [ "$rc" -eq 0 ] && [ -n "$done_line" ]; then
    echo "PASS $name: $(echo "$done_line" | awk '{print $1 " runs, " $3 " " $4 " " $5 " " $6}' | tr -d '#')"
  else
    echo "FAIL $name (exit $rc; log $log, reproducer under $build/artifacts/):"
    grep -E 'ERROR|SUMMARY|invariant failed|Test unit written' "$log" | head -8 | sed 's/^/  /'
  fi >"$build/logs/$name.result"
}

names=()
for seeds in tests/fuzz/*/; do
  name="$(basename "$seeds")"
  names+=("$name")
  rm -f "$build/logs/$name.result"
  while (( $(jobs -rp | wc -l) >= cores )); do wait -n; done
  fuzz "$name" "$seeds" &
done
wait

passed=0
failed=0
for name in "${names[@]}"; do
  result=$(cat "$build/logs/$name.result" 2>/dev/null) || result="FAIL $name (no result)"
  echo "$result"
  if [[ $result == PASS* ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
