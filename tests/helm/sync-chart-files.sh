#!/usr/bin/env bash
# The chart embeds files owned elsewhere in the repository; helm reads only files
# inside the chart, so committed copies live under helm/ramflow/files/:
#   deploy/prometheus/ramflow-rules.yaml -> files/prometheus/ramflow-rules.yaml
#   grafana/dashboards/*.json            -> files/dashboards/*.json
# Usage: tests/helm/sync-chart-files.sh          refresh the copies
#        tests/helm/sync-chart-files.sh --check  fail when a copy differs (the stage runs this)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
files="$root/helm/ramflow/files"
check=false
[ "${1:-}" = --check ] && check=true

stale=0
sync_one() {  # source destination
  if $check; then
    if ! cmp -s "$1" "$2"; then
      echo "out of sync: ${2#$root/} differs from ${1#$root/}" >&2
      stale=1
    fi
  else
    mkdir -p "$(dirname "$2")" && cp "$1" "$2"
  fi
}

sync_one "$root/deploy/prometheus/ramflow-rules.yaml" "$files/prometheus/ramflow-rules.yaml"

shopt -s nullglob
dashboards=("$root"/grafana/dashboards/*.json)
for d in "${dashboards[@]}"; do
  sync_one "$d" "$files/dashboards/$(basename "$d")"
done
for copy in "$files"/dashboards/*.json; do
  if [ ! -e "$root/grafana/dashboards/$(basename "$copy")" ]; then
    if $check; then echo "stale copy: ${copy#$root/} has no source in grafana/dashboards/" >&2; stale=1
    else rm "$copy"; fi
  fi
done

if ((stale)); then
  echo "run tests/helm/sync-chart-files.sh and commit helm/ramflow/files/" >&2
  exit 1
fi
$check && echo "chart files in sync (rules + ${#dashboards[@]} dashboards)" || true
