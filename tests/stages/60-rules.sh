#!/usr/bin/env bash
# Prometheus rules, Grafana dashboards and the thresholds they share, statically:
# promtool check/test rules (lead-time time lines included), knob markers against
# thresholds/thresholds.json, runbook/docs agreement, fleet-ruler conventions, the
# chart's generated copies, dashboard lint and PromQL parse; the same promtool tests
# against the chart's PrometheusRule rendered by Helm for a release called `jobs`.
# Budget: < 40 s (no servers; promtool and helm only; the chart's copy adds ~8 s).
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

step "knob markers agree with thresholds/thresholds.json" $PY deploy/prometheus/set_knobs.py --check
step "copies of thresholds that cannot read the file agree" $PY thresholds/check.py
step "promtool check rules" promtool check rules deploy/prometheus/ramflow-rules.yaml
for t in deploy/prometheus/tests/*.yaml; do
  step "promtool test rules $(basename "$t")" promtool test rules "$t"
done
step "runbooks and docs/alerts.md match the rules" $PY deploy/prometheus/check_docs.py
step "rules and dashboards keep cluster, rulers accept the rules" $PY deploy/prometheus/check_fleet.py
step "rules with every knob changed still parse" bash -c '
  tmp=$(mktemp -d); trap "rm -rf $tmp" EXIT
  '"$PY"' deploy/prometheus/set_knobs.py oomRiskFor=1s timeToOOMFor=1s timeToOOMCriticalFor=1s leakFor=1s \
    oomKillWindow=1m limitBelowRecommendedFor=1s limitTightWindow=2h noLimitFor=1s agentSilentFor=1s \
    sidecarDownFor=1s fleetInterval=1s oomRiskNonreclaimableMargin=0.2 oomRiskWorkingSetMargin=0.2 \
    oomRiskPressure=0.3 marginTight=0.3 timeToOOMCritical=300 timeToOOMHorizon=3600 \
    sidecarJob="job=\"other\"" runbookBaseUrl=http://example.invalid/rb.md -o "$tmp/r.yaml" &&
  promtool check rules "$tmp/r.yaml" >/dev/null && ! grep -q "job=\"ramflow\"" "$tmp/r.yaml"'
step "dashboards up to date, lint, PromQL parses" $PY grafana/build.py --check
step "the chart's copies (thresholds, rules with @knobs@, dashboards) are current" $PY helm/sync_chart_files.py --check
step "promtool tests against the chart's rules for release jobs" $PY tests/helm/chart_rules_promtool.py

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
