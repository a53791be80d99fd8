#!/usr/bin/env python3
"""Generate and check the ramflow Grafana dashboards (grafana/dashboards/*.json).

    build.py            write the three dashboards from grafana/lib/
    build.py --check    fail if a dashboard is stale or fails the lint, or if any
                        panel query does not parse (promtool check rules)
    build.py --queries  print every panel query as JSON lines (for tests)

The shared defaults (uid scheme, tags, refresh, links between the tabs, the
variables) live once in grafana/lib/common.py. Stdlib only.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "lib"))
sys.path.insert(0, str(HERE.parent / "thresholds"))  # colours and texts come from thresholds.json

import common  # noqa: E402
import execution_flow  # noqa: E402
import executive  # noqa: E402
import lint  # noqa: E402
import system_context  # noqa: E402

OUT = HERE / "dashboards"
BUILDERS = {
    "executive": executive.build,
    "execution-flow": execution_flow.build,
    "system-context": system_context.build,
}


def path_of(slug: str) -> Path:
    return OUT / f"{common.uid(slug)}.json"


def render(board: dict) -> str:
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


def load_all() -> dict[Path, dict]:
    """Every dashboard JSON under grafana/dashboards/, hand-added ones included."""
    return {path: json.loads(path.read_text()) for path in sorted(OUT.glob("*.json"))}


def promql_problems(boards: dict[Path, dict]) -> list[str]:
    """Parse every panel query and the worker variable's with promtool, variables replaced by match-all values."""
    promtool = shutil.which("promtool")
    if not promtool:
        return ["promtool not found: install Debian's prometheus (scripts/install-deps.sh)"]
    values = {v["name"]: ".*" for v in common.variables()}
    rules, where = [], []
    queries = [(f"{path.name}: {q['panel']} {q['refId']}", q["expr"]) for path, board in boards.items()
               for q in lint.queries(board)]
    queries.append(("variable worker (query_result)", common.WORST_FIRST))
    for name, expr in queries:
        where.append(name)
        rules.append({"record": f"dashboard_query_{len(rules)}", "expr": lint.substitute(expr, values)})
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as handle:
        # JSON is YAML: no YAML library needed.
        json.dump({"groups": [{"name": "dashboard-queries", "rules": rules}]}, handle)
        handle.flush()
        result = subprocess.run([promtool, "check", "rules", handle.name], capture_output=True, text=True)
    if result.returncode == 0:
        return []
    output = result.stdout + result.stderr
    problems = [f"{where[i]}: does not parse" for i in range(len(rules)) if f"dashboard_query_{i}\"" in output]
    return problems or [f"promtool check rules failed: {output.strip()}"]


def check() -> int:
    problems = []
    for slug, build in BUILDERS.items():
        path = path_of(slug)
        if not path.exists() or path.read_text() != render(build()):
            problems.append(f"{path.name}: stale or missing; run grafana/build.py and commit the result")
    boards = load_all()
    for path, board in boards.items():
        problems += [f"{path.name}: {problem}" for problem in lint.lint(board)]
    problems += promql_problems(boards)
    for problem in problems:
        print(problem, file=sys.stderr)
    panels = sum(len(lint.all_panels(board)) for board in boards.values())
    print(f"grafana: {len(boards)} dashboards, {panels} panels, {len(problems)} problem(s)")
    return 1 if problems else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify instead of writing")
    parser.add_argument("--queries", action="store_true", help="print every panel query as JSON lines")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    if args.queries:
        for path, board in load_all().items():
            for query in lint.queries(board):
                print(json.dumps({"dashboard": path.name, **query}))
        return 0
    OUT.mkdir(exist_ok=True)
    for slug, build in BUILDERS.items():
        path_of(slug).write_text(render(build()))
        print(f"wrote {path_of(slug).relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
