#!/usr/bin/env bash
# ramflowd's CPU with and without the eBPF OOM watcher: R runs of D seconds each,
# the two daemons running side by side in each run (same workers, same noise). Prints the
# mean and spread of each, the difference in % of one core, and the CPU of the
# watcher's own thread (rf-oom-watch), which the sampler's noise does not blur.
# Usage: bench/oom_watch/overhead.sh [-d SECONDS] [-r RUNS] [-w WORKERS] [-- EXTRA SERVE FLAGS]
#   defaults: -d 300 -r 5 (the issue's 5 min x 5 runs), -w 8 idle Python workers
#   (16 MiB each) for both daemons to watch; env RAMFLOWD picks the binary.
set -euo pipefail
duration=300 runs=5 workers=8
while getopts "d:r:w:" opt; do
  case $opt in
    d) duration=$OPTARG ;;
    r) runs=$OPTARG ;;
    w) workers=$OPTARG ;;
    *) echo "usage: $0 [-d SECONDS] [-r RUNS] [-w WORKERS] [-- EXTRA SERVE FLAGS]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[[ $duration =~ ^[0-9]+$ && $duration -gt 0 && $runs =~ ^[0-9]+$ && $runs -gt 0 && $workers =~ ^[0-9]+$ ]] ||
  { echo "overhead.sh: -d and -r take whole numbers above 0, -w a whole number" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
ramflowd=${RAMFLOWD:-$here/../../build/default/src/ramflowd}
[ -x "$ramflowd" ] || { echo "overhead.sh: $ramflowd not built (cmake --preset default && cmake --build --preset default), or set RAMFLOWD" >&2; exit 2; }
tmp=$(mktemp -d)
daemons=() worker_pids=()
cleanup() {
  [ ${#daemons[@]} -gt 0 ] && kill "${daemons[@]}" 2>/dev/null && wait "${daemons[@]}" 2>/dev/null
  [ ${#worker_pids[@]} -gt 0 ] && kill "${worker_pids[@]}" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
ticks=$(getconf CLK_TCK)

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }  # utime + stime

# Starts ramflowd with --ebpf $1 on a free port; sets started_pid once it serves.
start_daemon() {
  local mode=$1 port active pid
  shift
  port=$(free_port)
  "$ramflowd" serve --listen "127.0.0.1:$port" --socket "$tmp/ramflow-$mode.sock" --ebpf "$mode" "$@" \
    >"$tmp/ramflowd-$mode.log" 2>&1 &
  pid=$!
  daemons+=("$pid")
  for _ in $(seq 100); do
    active=$(curl -sf "http://127.0.0.1:$port/metrics" | awk '/^ramflow_ebpf_active /{print $2}') && [ -n "$active" ] && break
    sleep 0.1
  done
  want=$([ "$mode" = on ] && echo 1 || echo 0)
  [ "${active:-}" = "$want" ] || { echo "overhead.sh: --ebpf $mode gave ramflow_ebpf_active=${active:-none}; log:" >&2; tail -5 "$tmp/ramflowd-$mode.log" >&2; exit 1; }
  started_pid=$pid
}

# One run: both daemons side by side over the same $duration seconds, so the
# shared machine's noise hits them alike; prints "off_seconds on_seconds".
measure() {
  local off_pid on_pid thread a0 a1 b0 b1 w0=0 w1=0
  start_daemon off "$@"; off_pid=$started_pid
  start_daemon on "$@"; on_pid=$started_pid
  thread=$(grep -lx rf-oom-watch /proc/"$on_pid"/task/*/comm 2>/dev/null | head -1 | xargs -r dirname)
  a0=$(cpu_ticks "$off_pid"); b0=$(cpu_ticks "$on_pid")
  [ -n "$thread" ] && w0=$(cpu_ticks "${thread#/proc/}")
  sleep "$duration"
  a1=$(cpu_ticks "$off_pid"); b1=$(cpu_ticks "$on_pid")
  [ -n "$thread" ] && w1=$(cpu_ticks "${thread#/proc/}")
  kill "$off_pid" "$on_pid"; wait "$off_pid" "$on_pid" 2>/dev/null || true; daemons=()
  [ -n "$thread" ] && echo "$(( w1 - w0 ))" >>"$tmp/watcher-ticks"
  awk -v a0="$a0" -v a1="$a1" -v b0="$b0" -v b1="$b1" -v hz="$ticks" 'BEGIN { printf "%.4f %.4f\n", (a1 - a0) / hz, (b1 - b0) / hz }'
}

for i in $(seq "$workers"); do
  /usr/bin/python3 -c 'import time; b = bytearray(16 << 20); b[::4096] = b"\1" * len(b[::4096]); time.sleep(10**6)' \
    oom-watch-bench-worker "$i" &
  worker_pids+=("$!")
done
extra=(--process-match oom-watch-bench-worker "$@")
on=() off=() diff=()
for r in $(seq "$runs"); do
  measure "${extra[@]}" >"$tmp/run"
  read -r o n <"$tmp/run"
  off+=("$o"); on+=("$n"); diff+=("$(awk -v a="$n" -v b="$o" 'BEGIN { printf "%.4f", a - b }')")
  echo "run $r/$runs: cpu seconds off=$o on=$n" >&2
done

stats() { tr ' ' '\n' | awk -v d="$duration" '
  { x[NR] = $1 / d * 100; s += x[NR] }
  END { m = s / NR; for (i = 1; i <= NR; i++) v += (x[i] - m) ^ 2; sd = NR > 1 ? sqrt(v / (NR - 1)) : 0;
        min = x[1]; max = x[1]; for (i = 1; i <= NR; i++) { if (x[i] < min) min = x[i]; if (x[i] > max) max = x[i] }
        printf "%.4f %.4f %.4f %.4f\n", m, sd, min, max }'; }
read -r off_mean off_sd off_min off_max < <(echo "${off[*]}" | stats)
read -r on_mean on_sd on_min on_max < <(echo "${on[*]}" | stats)
echo "ramflowd CPU, % of one core, $runs runs x ${duration}s each:"
printf "  watcher off: mean %s  sd %s  min %s  max %s\n" "$off_mean" "$off_sd" "$off_min" "$off_max"
printf "  watcher on:  mean %s  sd %s  min %s  max %s\n" "$on_mean" "$on_sd" "$on_min" "$on_max"
read -r d_mean d_sd d_min d_max < <(echo "${diff[*]}" | stats)
printf "  difference on - off, per run: mean %+.4f  sd %s  min %+.4f  max %+.4f %% of a core (target: |mean| below 0.1)\n" \
  "$d_mean" "$d_sd" "$d_min" "$d_max"
# The watcher's own thread, free of the sampler's noise (absent in binaries before it was named).
if [ -s "$tmp/watcher-ticks" ]; then
  awk -v hz="$ticks" -v d="$duration" '{ s += $1 } END { printf "  watcher thread alone: %.4f cpu seconds in %d runs (%.5f %% of a core)\n", s / hz, NR, s / hz / (d * NR) * 100 }' "$tmp/watcher-ticks"
else
  echo "  watcher thread alone: not found (thread rf-oom-watch not named in this binary)"
fi
