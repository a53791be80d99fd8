"""Lint of ramflow dashboard JSON, and the PromQL of its panels.

Checks what Grafana itself would not: the shared defaults of common.py, and that
every panel has the datasource variable, a title, a description and a unit.
"""
from __future__ import annotations

import re

import common

# Grafana's own variables, with the value used where a query is run outside Grafana.
BUILTIN_VALUES = {"__rate_interval": "5m", "__range": "1h", "__interval": "1m"}
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


def all_panels(dashboard: dict) -> list[dict]:
    """Panels in order, including those folded into rows."""
    found = []
    for item in dashboard.get("panels", []):
        found.append(item)
        found.extend(item.get("panels", []))
    return found


def queries(dashboard: dict) -> list[dict]:
    """Every PromQL expression of a dashboard: panel targets and annotation queries."""
    found = []
    for item in all_panels(dashboard):
        for tgt in item.get("targets", []):
            found.append({"panel": item.get("title", ""), "refId": tgt.get("refId", ""), "expr": tgt.get("expr", "")})
    for note in dashboard.get("annotations", {}).get("list", []):
        if note.get("expr"):
            found.append({"panel": f"annotation: {note['name']}", "refId": "", "expr": note["expr"]})
    return found


def substitute(expr: str, values: dict[str, str]) -> str:
    """The expression with each $variable replaced; KeyError names an unknown one."""
    merged = {**BUILTIN_VALUES, **values}
    return _VARIABLE.sub(lambda m: merged[m.group(1) or m.group(2)], expr)


def _uses_datasource_variable(item: dict) -> bool:
    return item.get("datasource") == common.DATASOURCE


def _lint_panel(item: dict) -> list[str]:
    name = item.get("title") or f"panel id {item.get('id')}"
    problems = []
    if item.get("type") == "row":
        return [] if item.get("title") else [f"{name}: a row needs a title"]
    if not item.get("title"):
        problems.append(f"{name}: no title")
    if not item.get("description"):
        problems.append(f"{name}: no description (say what it shows and how to read it)")
    if not item.get("fieldConfig", {}).get("defaults", {}).get("unit"):
        problems.append(f"{name}: no unit in fieldConfig.defaults.unit (use 'none' for counts)")
    if not _uses_datasource_variable(item):
        problems.append(f"{name}: datasource must be {common.DATASOURCE}")
    if not item.get("targets"):
        problems.append(f"{name}: no query")
    for tgt in item.get("targets", []):
        if not _uses_datasource_variable(tgt):
            problems.append(f"{name} {tgt.get('refId')}: target datasource must be {common.DATASOURCE}")
        if not tgt.get("expr", "").strip():
            problems.append(f"{name} {tgt.get('refId')}: empty expr")
    for key in ("x", "y", "w", "h"):
        if not isinstance(item.get("gridPos", {}).get(key), int):
            problems.append(f"{name}: gridPos.{key} missing")
    return problems


def lint(dashboard: dict) -> list[str]:
    """Problems of one dashboard; empty when it is fine."""
    problems = []
    slugs = {common.uid(slug): slug for slug in common.TABS}
    if dashboard.get("uid") not in slugs:
        problems.append(f"uid {dashboard.get('uid')!r} is not one of {sorted(slugs)}")
    elif dashboard.get("title") != common.title(slugs[dashboard["uid"]]):
        problems.append(f"title must be {common.title(slugs[dashboard['uid']])!r}")
    if dashboard.get("schemaVersion") != common.SCHEMA_VERSION:
        problems.append(f"schemaVersion must be {common.SCHEMA_VERSION}, got {dashboard.get('schemaVersion')!r}")
    if common.TAG not in dashboard.get("tags", []):
        problems.append(f"tags must include {common.TAG!r} (the tab links find dashboards by it)")
    if dashboard.get("refresh") != common.REFRESH:
        problems.append(f"refresh must be {common.REFRESH!r}")
    if dashboard.get("links") != common.links():
        problems.append("links differ from common.links() (the links between the three tabs)")
    if dashboard.get("templating", {}).get("list") != common.variables():
        problems.append("templating differs from common.variables() (datasource, namespace, pod, worker)")
    if not dashboard.get("description"):
        problems.append("no dashboard description")
    ids = [item.get("id") for item in all_panels(dashboard)]
    if len(ids) != len(set(ids)):
        problems.append("panel ids are not unique")
    for item in all_panels(dashboard):
        problems += _lint_panel(item)
    for note in dashboard.get("annotations", {}).get("list", []):
        if note.get("expr") and not _uses_datasource_variable(note):
            problems.append(f"annotation {note.get('name')}: datasource must be {common.DATASOURCE}")
    names = {v["name"] for v in common.variables()}
    for query in queries(dashboard):
        try:
            substitute(query["expr"], {name: ".*" for name in names})
        except KeyError as unknown:
            problems.append(f"{query['panel']} {query['refId']}: unknown variable ${unknown.args[0]}")
    return problems
