#!/usr/bin/env bash
# The chart embeds files owned elsewhere in the repository (thresholds, rules with their
# knobs as @NAME@, dashboards): helm/sync_chart_files.py writes them and, with --check,
# fails when one is stale. Usage: tests/helm/sync-chart-files.sh [--check]
exec /usr/bin/python3 "$(dirname "$0")/../../helm/sync_chart_files.py" "$@"
