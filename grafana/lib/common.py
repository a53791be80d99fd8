"""Shared defaults of the three ramflow dashboards and the panel constructors.

Everything the three tabs have in common is written here once: the uid scheme,
tags, refresh, time range, the links between the tabs, the shared variables
(datasource, namespace, pod, worker process) and the selectors built on them.
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
# Per-process series that carry `worker` themselves (ramflow_process_*).
PROCESS = POD + ', worker=~"$worker"'


def per_worker(metric: str, matchers: str = "") -> str:
    """A pid-level series restricted to $worker and given the worker/role labels.

    Only ramflow_process_* carry `worker`; the other pid-level series are joined to
    it through the recorded namespace_pod_pid:ramflow_process_worker:info.
    """
    inner = POD + (", " + matchers if matchers else "")
    return (
        f"{metric}{{{inner}}}\n"
        "* on (cluster, namespace, pod, pid) group_left (worker, role)\n"
        'namespace_pod_pid:ramflow_process_worker:info{worker=~"$worker"}'
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
        _query_variable(
            "worker",
            "Worker process",
            f"label_values(ramflow_process_rss_bytes{{{POD}}}, worker)",
        ),
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
