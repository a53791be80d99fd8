#!/usr/bin/env python3
"""Check that ramflow-rules.yaml and its docs agree.

Every alert has a severity, `summary`, `description` and a `runbook_url` under the
runbookBaseUrl knob whose anchor is a heading of docs/runbooks.md; every knob is
listed with its default (thresholds/thresholds.json) in docs/alerts.md, and so is
every recorded series.
Needs PyYAML (Debian's python3-yaml). Exits 1 and says what to fix on a mismatch.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

import set_knobs

REPO = Path(__file__).resolve().parents[2]
RUNBOOKS = REPO / "docs" / "runbooks.md"
ALERTS_DOC = REPO / "docs" / "alerts.md"


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    return {github_anchor(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+)$", markdown, re.M)}


def problems(rules_text: str, runbooks: str, alerts_doc: str) -> list[str]:
    found = []
    knobs = set_knobs.defaults()
    base = knobs["runbookBaseUrl"]
    known_anchors = anchors(runbooks)
    for group in yaml.safe_load(rules_text)["groups"]:
        for rule in group["rules"]:
            if "record" in rule:
                if f"`{rule['record']}`" not in alerts_doc:
                    found.append(f"recorded series {rule['record']} is not documented in docs/alerts.md")
                continue
            name = rule["alert"]
            notes = rule.get("annotations", {})
            for key in ("summary", "description", "runbook_url"):
                if not notes.get(key):
                    found.append(f"{name}: annotation {key} is missing")
            if not rule.get("labels", {}).get("severity"):
                found.append(f"{name}: label severity is missing")
            url = notes.get("runbook_url", "")
            anchor = url.partition("#")[2]
            if not url.startswith(base + "#"):
                found.append(f"{name}: runbook_url must be {base}#<section> (knob runbookBaseUrl)")
            elif anchor not in known_anchors:
                found.append(f"{name}: docs/runbooks.md has no section #{anchor}; add a heading for it")
            if f"`{name}`" not in alerts_doc:
                found.append(f"{name}: not described in docs/alerts.md")
    for knob, default in knobs.items():
        if not re.search(rf"^\|\s*`{knob}`\s*\|\s*`{re.escape(default)}`\s*\|", alerts_doc, re.M):
            found.append(f"knob {knob}: docs/alerts.md needs a table row | `{knob}` | `{default}` | ...")
    return found


def main() -> int:
    found = set_knobs.check(set_knobs.RULES.read_text())
    found += problems(set_knobs.RULES.read_text(), RUNBOOKS.read_text(), ALERTS_DOC.read_text())
    for problem in found:
        print(f"check_docs: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
