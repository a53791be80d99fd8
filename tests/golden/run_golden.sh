#!/usr/bin/env bash
# Golden end-to-end test (node_exporter's e2e habit): start ramflowd on a
# fixture tree, scrape /metrics, drop the lines that depend on this machine or
# on time, diff against the golden file, and run `promtool check metrics`.
# Usage: run_golden.sh RAMFLOWD FIXTURE_DIR GOLDEN_FILE [--update]
set -euo pipefail
bin=$1 fixture=$2 golden=$3 update=${4:-}
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --listen "127.0.0.1:$port" --socket "$tmp/ramflow.sock" --interval 200ms \
  --proc-root "$fixture/proc" --cgroup-root "$fixture/sys/fs/cgroup" --log-level warn --ebpf off 2>"$tmp/log" &
pid=$!
for _ in $(seq 1 50); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
# Two cycles so every reader has run at least once after start.
sleep 0.5
curl -sf "http://127.0.0.1:$port/metrics" >"$tmp/scrape"

promtool check metrics <"$tmp/scrape"

# Volatile: ramflowd's own cost and probe timings, and the build version.
grep -v -E '^(process_cpu_seconds_total|process_resident_memory_bytes|ramflow_probe_duration_seconds)' "$tmp/scrape" |
  sed -E -e 's/(ramflow_build_info\{version=")[^"]*"/\1VERSION"/' -e 's/ebpf="[a-z_]*"/ebpf="BUILD"/' >"$tmp/filtered"

if [ "$update" = "--update" ]; then
  cp "$tmp/filtered" "$golden"
  echo "updated $golden"
  exit 0
fi
if ! diff -u "$golden" "$tmp/filtered"; then
  echo "golden mismatch: if the change is intended, run: $0 $bin $fixture $golden --update" >&2
  exit 1
fi
if grep -q -i -E 'error|warn' "$tmp/log"; then
  echo "ramflowd logged problems on the fixture tree:" >&2
  cat "$tmp/log" >&2
fi
echo "golden /metrics matches $(wc -l <"$golden") lines"
