#!/usr/bin/env python3
"""The alert and recording-rule tests of deploy/prometheus/tests run against the
chart's PrometheusRule as the real Helm renders it for a release not called
"ramflow" (release `jobs`, monitoring mode): the same exact labels and annotations
must come out of the chart's copy as out of deploy/prometheus/ramflow-rules.yaml.
Run by stage 60; needs helm and promtool. Prints one line per test file.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
RELEASE = "jobs"


def chart_rules() -> dict:
    out = subprocess.run(["helm", "template", RELEASE, str(REPO / "helm" / "ramflow"), "--namespace", "monitoring",
                          "--set", "mode=monitoring", "--show-only", "templates/prometheusrule.yaml"],
                         capture_output=True, text=True, check=True).stdout
    rule = yaml.safe_load(out)
    assert rule["kind"] == "PrometheusRule" and rule["metadata"]["name"] == "jobs-ramflow", rule["metadata"]
    return {"groups": rule["spec"]["groups"]}


def main() -> int:
    failed = 0
    with tempfile.TemporaryDirectory(prefix="ramflow-chart-rules-") as tmp:
        rules = Path(tmp) / "chart-rules.yaml"
        rules.write_text(yaml.safe_dump(chart_rules(), sort_keys=False))
        for source in sorted((REPO / "deploy" / "prometheus" / "tests").glob("*.yaml")):
            test = yaml.safe_load(source.read_text())
            test["rule_files"] = [str(rules)]
            copy = Path(tmp) / source.name
            copy.write_text(yaml.safe_dump(test, sort_keys=False))
            run = subprocess.run(["promtool", "test", "rules", str(copy)], capture_output=True, text=True)
            if run.returncode == 0:
                print(f"ok   {source.name} against the chart's rules (release {RELEASE})")
            else:
                failed += 1
                print(f"FAIL {source.name} against the chart's rules (release {RELEASE}):\n{run.stdout[-3000:]}{run.stderr[-1000:]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
