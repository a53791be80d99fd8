#!/usr/bin/env bash
# Prometheus rules and Grafana dashboards, statically: promtool check/test rules,
# knob markers, runbook/docs agreement, dashboard lint and PromQL parse.
# Budget: < 30 s (no servers; promtool only).
set -uo pipefail
cd "${RAMFLOW_SRC:-$(dirname "$0")/../..}"
export PYTHONDONTWRITEBYTECODE=1
PY=/usr/bin/python3

passed=0
failed=0
step() {
  local name=$1; shift
  if "$@"; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failed=$((failed + 1)); echo "FAIL $name"
  fi
}

step "knob markers agree with the header" $PY deploy/prometheus/set_knobs.py --check
step "promtool check rules" promtool check rules deploy/prometheus/ramflow-rules.yaml
for t in deploy/prometheus/tests/*.yaml; do
  step "promtool test rules $(basename "$t")" promtool test rules "$t"
done
step "runbooks and docs/alerts.md match the rules" $PY deploy/prometheus/check_docs.py
step "rules with every knob changed still parse" bash -c '
  tmp=$(mktemp -d); trap "rm -rf $tmp" EXIT
  '"$PY"' deploy/prometheus/set_knobs.py oomRiskFor=1s timeToOOMFor=1s leakFor=1s oomKillWindow=1m \
    limitBelowRecommendedFor=1s noLimitFor=1s agentSilentFor=1s sidecarDownFor=1s fleetInterval=1s \
    oomRiskNonreclaimableMargin=0.2 oomRiskWorkingSetMargin=0.2 oomRiskPressure=0.3 timeToOOMHorizon=60 \
    sidecarJob="job=\"other\"" runbookBaseUrl=http://example.invalid/rb.md -o "$tmp/r.yaml" &&
  promtool check rules "$tmp/r.yaml" >/dev/null && ! grep -q "job=\"ramflow\"" "$tmp/r.yaml"'
step "dashboards up to date, lint, PromQL parses" $PY grafana/build.py --check

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
