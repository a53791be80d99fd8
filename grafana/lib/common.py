"""Shared defaults of the three ramflow dashboards and the panel constructors.

Everything the three tabs have in common is written here once: the uid scheme,
tags, refresh, time range, the links between the tabs, the shared variables
(datasource, cluster, namespace, pod, the worker process, worst first) and the
selectors built on them.
"""
from __future__ import annotations

SCHEMA_VERSION = 39  # Grafana 10.4 / 11 dashboard JSON
TAG = "ramflow"
REFRESH = "30s"
TIME_FROM = "now-1h"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

# The three tabs of the built-in UI, in their order: slug -> title.
TABS = {
    "executive": "Executive",
    "execution-flow": "Execution flow",
    "system-context": "System context",
}


def uid(slug: str) -> str:
    return f"ramflow-{slug}"


def title(slug: str) -> str:
    return f"ramflow / {TABS[slug]}"


# Pod-level series: every ramflow series carries the scrape target's namespace and pod,
# and `cluster` where one store holds several clusters (kube-prometheus' convention;
# the match-all value also matches series without the label).
POD = 'cluster=~"$cluster", namespace=~"$namespace", pod=~"$pod"'
# The chosen process: per-process series carry `worker`, a bounded name unique in a pod
# (docs/metrics.md). Single stats describe this one process.
WORKER = POD + ', worker="$worker"'
_PER_WORKER = "cluster, namespace, pod, worker"

# State sets as one number per worker: each value's rank, from 1 (absent while unknown).
INTEGRITY = ("ramflow_integrity", "status", ("secure", "stable", "bloated"))
LEAK_LEVEL = ("ramflow_leak_level", "level", ("low", "medium", "high"))


def state_rank(state_set: tuple[str, str, tuple[str, ...]], selector: str) -> str:
    metric, label, values = state_set
    ranked = "\n  or ".join(
        f'{rank} * ({metric}{{{selector}, {label}="{value}"}} == 1)' for rank, value in enumerate(values, start=1)
    )
    return f"max by ({_PER_WORKER}) (\n  {ranked}\n)"


def value_mapping(state_set: tuple[str, str, tuple[str, ...]], colours: tuple[str, ...]) -> list[dict]:
    """Grafana value mappings: each rank shown as its value in capitals, in its colour."""
    _, _, values = state_set
    options = {
        str(rank): {"text": value.upper(), "color": colour, "index": rank - 1}
        for rank, (value, colour) in enumerate(zip(values, colours), start=1)
    }
    return [{"type": "value", "options": options}]


def _or_zero(expr: str) -> str:
    """The expression per worker, 0 for a live worker it has no sample for."""
    return f"(\n{expr}\nor 0 * max by ({_PER_WORKER}) (ramflow_process_info{{{POD}}})\n)"


# The workers of the selected pods, worst first: by integrity (bloated, stable, secure,
# not judged yet), then by leak probability. The `worker` variable lists them in this
# order and defaults to the first: the worst.
WORST_FIRST = (
    "sort_desc(max by (worker) (\n"
    f"10 * {_or_zero(state_rank(INTEGRITY, POD))}\n"
    f"+ {_or_zero(f'max by ({_PER_WORKER}) (ramflow_leak_probability{{{POD}}})')}\n"
    "))"
)

def _query_variable(name: str, label: str, query: str) -> dict:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "definition": query,
        "query": {"query": query, "refId": f"{name}-variable"},
        "refresh": 2,
        "sort": 1,
        "multi": True,
        "includeAll": True,
        # Matches series without the label too (a laptop Prometheus without namespace/pod).
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "hide": 0,
        "options": [],
        "regex": "",
        "skipUrlSync": False,
    }


def _worker_variable() -> dict:
    """One process, worst first (WORST_FIRST); Grafana selects the first option by default."""
    query = f"query_result({WORST_FIRST})"
    return {
        "name": "worker",
        "label": "Worker process (worst first)",
        "type": "query",
        "datasource": DATASOURCE,
        "definition": query,
        "query": {"query": query, "refId": "worker-variable"},
        "refresh": 2,
        "sort": 0,  # keep the query's order: worst first
        "multi": False,
        "includeAll": False,
        "current": {},
        "hide": 0,
        "options": [],
        "regex": '/worker="([^"]*)"/',
        "skipUrlSync": False,
    }


def variables() -> list[dict]:
    return [
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "hide": 0,
            "includeAll": False,
            "multi": False,
            "options": [],
            "refresh": 1,
            "regex": "",
            "skipUrlSync": False,
        },
        _query_variable("cluster", "Cluster", "label_values(ramflow_build_info, cluster)"),
        _query_variable(
            "namespace", "Namespace", 'label_values(ramflow_build_info{cluster=~"$cluster"}, namespace)'
        ),
        _query_variable(
            "pod", "Pod", 'label_values(ramflow_build_info{cluster=~"$cluster", namespace=~"$namespace"}, pod)'
        ),
        _worker_variable(),
    ]


def links() -> list[dict]:
    """One link per tab, found by tag, carrying the variables and the time range."""
    return [
        {
            "title": "ramflow",
            "type": "dashboards",
            "tags": [TAG],
            "asDropdown": False,
            "includeVars": True,
            "keepTime": True,
            "targetBlank": False,
            "icon": "external link",
            "tooltip": "",
            "url": "",
        }
    ]


def target(expr: str, legend: str = "", instant: bool = False, table: bool = False) -> dict:
    return {
        "datasource": DATASOURCE,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "instant": instant or table,
        "range": not (instant or table),
        "format": "table" if table else "time_series",
    }


def panel(
    kind: str,
    title: str,
    description: str,
    unit: str,
    targets: list[dict],
    width: int = 8,
    height: int = 8,
    thresholds: list[tuple[float | None, str]] | None = None,
    mappings: list[dict] | None = None,
    options: dict | None = None,
    overrides: list[dict] | None = None,
    transformations: list[dict] | None = None,
    no_value: str | None = None,
) -> dict:
    """A panel; gridPos and ids are filled in by dashboard()."""
    steps = thresholds or [(None, "green")]
    defaults: dict = {
        "unit": unit,
        "thresholds": {
            "mode": "absolute",
            "steps": [{"value": value, "color": color} for value, color in steps],
        },
    }
    if mappings:
        defaults["mappings"] = mappings
    if no_value is not None:
        defaults["noValue"] = no_value
    for ref, tgt in zip("ABCDEFGHIJ", targets):
        tgt["refId"] = ref
    result = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": options or {},
        "targets": targets,
        "gridPos": {"w": width, "h": height},
    }
    if transformations:
        result["transformations"] = transformations
    return result


def unit_override(field: str, unit: str) -> dict:
    return {
        "matcher": {"id": "byName", "options": field},
        "properties": [{"id": "unit", "value": unit}],
    }


def _layout(panels: list[dict]) -> list[dict]:
    """Flow the panels left to right in a 24-column grid, wrapping like text."""
    x = y = row_height = 0
    for number, item in enumerate(panels, start=1):
        width, height = item["gridPos"]["w"], item["gridPos"]["h"]
        if x + width > 24:
            x, y, row_height = 0, y + row_height, 0
        item["gridPos"] = {"x": x, "y": y, "w": width, "h": height}
        item["id"] = number
        x += width
        row_height = max(row_height, height)
    return panels


def dashboard(slug: str, description: str, panels: list[dict], annotations: list[dict] = ()) -> dict:
    built_in = {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }
    return {
        "uid": uid(slug),
        "title": title(slug),
        "description": description,
        "tags": [TAG],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "refresh": REFRESH,
        "time": {"from": TIME_FROM, "to": "now"},
        "timezone": "browser",
        "links": links(),
        "templating": {"list": variables()},
        "annotations": {"list": [built_in, *annotations]},
        "panels": _layout(panels),
    }


def annotation(name: str, expr: str, title: str, text: str) -> dict:
    return {
        "name": name,
        "datasource": DATASOURCE,
        "enable": True,
        "hide": False,
        "iconColor": "purple",
        "expr": expr,
        "step": "",
        "titleFormat": title,
        "textFormat": text,
        "useValueForTime": False,
    }
