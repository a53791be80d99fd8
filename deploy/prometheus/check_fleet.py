#!/usr/bin/env python3
"""Check that the rules and dashboards follow the fleet conventions (docs/alerts.md "Fleet").

Rules (deploy/prometheus/ramflow-rules.yaml), so that Thanos Ruler and Mimir's ruler
accept them as Prometheus does:
  * only stable PromQL functions (no feature-flag or experimental ones), no `@`
    modifier, no subquery;
  * only the classic fields: groups {name, interval, rules}, rules {record | alert,
    expr, for, labels, annotations};
  * at most 20 rules per group (Mimir's default ruler_max_rules_per_rule_group),
    unique group names, recorded names of the form level:metric:operations;
  * `cluster` in every `by (...)` and `on (...)`.
Dashboards (grafana/dashboards/*.json): `cluster` in every `on (...)`, and every
selector that narrows to $namespace narrows to $cluster too.

Needs PyYAML (Debian's python3-yaml). Exits 1 naming each problem.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "prometheus" / "ramflow-rules.yaml"
DASHBOARDS = REPO / "grafana" / "dashboards"

MAX_RULES_PER_GROUP = 20
GROUP_FIELDS = {"name", "interval", "rules"}
RULE_FIELDS = {"record", "alert", "expr", "for", "labels", "annotations"}
# Prometheus 2.x functions and aggregations that need no feature flag and that Thanos and
# Mimir evaluate by default (holt_winters is left out: Prometheus 3 renamed it behind a flag).
STABLE_FUNCTIONS = {
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
    "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
    "count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "deg",
    "delta", "deriv", "exp", "floor", "histogram_count", "histogram_fraction",
    "histogram_quantile", "histogram_sum", "hour", "idelta", "increase", "irate",
    "label_join", "label_replace", "last_over_time", "ln", "log10", "log2", "max_over_time",
    "min_over_time", "minute", "month", "pi", "predict_linear", "present_over_time",
    "quantile_over_time", "rad", "rate", "resets", "round", "scalar", "sgn", "sin", "sinh",
    "sort", "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time",
    "tan", "tanh", "time", "timestamp", "vector", "year",
    "avg", "bottomk", "count", "count_values", "group", "max", "min", "quantile", "stddev",
    "stdvar", "sum", "topk",
}
_NOT_FUNCTIONS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless"}
_CALL = re.compile(r"\b([a-z_][a-z0-9_]*)\s*\(")
_GROUPING = re.compile(r"\b(by|on)\s*\(([^)]*)\)")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_SUBQUERY = re.compile(r"\[[^\]]*:[^\]]*\]")
_RECORD_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_]+$")


def expr_problems(expr: str, grouping_labels: set[str] = frozenset({"by", "on"})) -> list[str]:
    """What a fleet ruler would refuse or a multi-cluster store would merge, in one expression."""
    code = _STRING.sub('""', expr)  # label values may contain anything
    found = []
    for name in _CALL.findall(code):
        if name not in _NOT_FUNCTIONS and name not in STABLE_FUNCTIONS:
            found.append(f"function {name}() is not a stable PromQL function")
    if "@" in code:
        found.append("the @ modifier is not accepted by every ruler")
    if _SUBQUERY.search(code):
        found.append("subqueries are expensive in a central ruler: record the inner expression instead")
    for keyword, labels in _GROUPING.findall(code):
        if keyword in grouping_labels and "cluster" not in {label.strip() for label in labels.split(",")}:
            found.append(f"`{keyword} ({labels.strip()})` drops `cluster`")
    return found


def rules_problems(document: dict) -> list[str]:
    found = []
    names = [group.get("name") for group in document["groups"]]
    found += [f"group name {name!r} is used twice" for name in set(names) if names.count(name) > 1]
    for group in document["groups"]:
        where = f"group {group.get('name')}"
        found += [f"{where}: field {key!r} is not accepted by every ruler" for key in set(group) - GROUP_FIELDS]
        if len(group["rules"]) > MAX_RULES_PER_GROUP:
            found.append(f"{where}: {len(group['rules'])} rules, Mimir accepts {MAX_RULES_PER_GROUP} per group by default")
        for rule in group["rules"]:
            name = rule.get("record") or rule.get("alert")
            found += [f"{where}, {name}: field {key!r} is not accepted by every ruler" for key in set(rule) - RULE_FIELDS]
            if "record" in rule and not _RECORD_NAME.match(rule["record"]):
                found.append(f"{where}, {name}: recorded names are level:metric:operations")
            found += [f"{where}, {name}: {problem}" for problem in expr_problems(rule["expr"])]
    return found


def dashboard_problems(name: str, board: dict) -> list[str]:
    found = []
    panels = board.get("panels", []) + [inner for panel in board.get("panels", []) for inner in panel.get("panels", [])]
    queries = [target.get("expr", "") for panel in panels for target in panel.get("targets", [])]
    queries += [note["expr"] for note in board.get("annotations", {}).get("list", []) if note.get("expr")]
    variables = [variable["query"]["query"] for variable in board.get("templating", {}).get("list", [])
                 if isinstance(variable.get("query"), dict)]  # Grafana's label_values(), not PromQL
    for expr in queries:
        found += [f"{name}: {problem}: {expr!r}" for problem in expr_problems(expr, {"on"})]
    for expr in queries + variables:
        if '$namespace"' in expr and 'cluster=~"$cluster"' not in expr:
            found.append(f"{name}: a selector narrows to $namespace but not to $cluster: {expr!r}")
    return found


def main() -> int:
    found = rules_problems(yaml.safe_load(RULES.read_text()))
    for path in sorted(DASHBOARDS.glob("*.json")):
        found += dashboard_problems(path.name, json.loads(path.read_text()))
    for problem in found:
        print(f"check_fleet: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
