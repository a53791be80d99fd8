#!/usr/bin/env python3
"""Check the places that cannot read thresholds/thresholds.json against it.

* helm/ramflow/values.yaml: sidecar.leakMediumMiB and sidecar.leakHighMiB are the
  file's leakMediumMiB and leakHighMiB (the chart passes them to ramflowd);
* docs/thresholds.md has a row | `NAME` | `VALUE` | for every entry that is not a
  rule knob (knobs are listed in docs/alerts.md, checked by check_docs.py).

The C++ build generates analysis/thresholds.h from the file (cmake/thresholds.cmake)
and tests/unit/analysis/thresholds_test.cpp checks the defaults against it; the
dashboards, the rules and the chart read it themselves. Needs PyYAML. Exits 1
naming each problem.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

import thresholds

REPO = Path(__file__).resolve().parents[1]


def problems() -> list[str]:
    found = []
    sidecar = yaml.safe_load((REPO / "helm" / "ramflow" / "values.yaml").read_text())["sidecar"]
    for name in ("leakMediumMiB", "leakHighMiB"):
        if sidecar.get(name) != thresholds.number(name):
            found.append(f"helm/ramflow/values.yaml: sidecar.{name} is {sidecar.get(name)}, thresholds.json says {thresholds.number(name)}")
    doc = (REPO / "docs" / "thresholds.md").read_text()
    for name, entry in thresholds.entries().items():
        if entry.get("knob"):
            continue
        value = f"{thresholds.number(name):g}"
        if not re.search(rf"^\|\s*`{name}`\s*\|\s*`{re.escape(value)}`\s*\|", doc, re.M):
            found.append(f"docs/thresholds.md needs a table row | `{name}` | `{value}` | ...")
    return found


def main() -> int:
    found = problems()
    for problem in found:
        print(f"thresholds/check.py: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
