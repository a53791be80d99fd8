#!/usr/bin/env python3
"""Checks that src/ is layered as docs/architecture.md draws it.

Derives the module dependency graph from the #include lines of src/ and fails
when a module includes one it may not depend on (a lower module including a
higher one, or export/ reaching past model and analysis); and checks that
tests/unit/ mirrors src/ (one test directory per module, none for a module
that does not exist).

    tests/architecture/check_layers.py            # check; exit 1 on a violation
    tests/architecture/check_layers.py --graph    # also print the graph
    tests/architecture/check_layers.py --untested # also list headers no test includes
"""
import argparse
import collections
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
SCRIPT = "tests/architecture/check_layers.py"

# What each module may include besides itself, lowest layer first. This table
# is the rule; docs/architecture.md draws it.
MAY_INCLUDE = {
    "probe": set(),
    "ingest": set(),
    "bpf": set(),
    "config": set(),
    "analysis": set(),
    "model": {"probe", "analysis"},
    "daemon": {"model", "analysis", "probe", "ingest", "bpf", "config"},
    "export/ui": set(),
    "export/http": set(),
    "export/prometheus": {"model", "analysis"},
    "export/report": {"model", "analysis", "export/ui"},
    # The injection webhook: pure patch building plus its TLS server; it only
    # shares the options' parsers and the metric family builder.
    "webhook": {"config", "export/prometheus"},
    "app": {"model", "analysis", "probe", "ingest", "bpf", "config", "daemon",
            "export/ui", "export/http", "export/prometheus", "export/report", "webhook"},
    "main": {"app"},
}

# Generated from thresholds/thresholds.json (cmake/thresholds.cmake): constants
# only, the leaf every module may read.
LEAVES = ("thresholds/",)

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)
SOURCE_SUFFIXES = {".h", ".cpp", ".c"}


def module_of(path: pathlib.Path) -> str:
    """The module a file under src/ (or an include path relative to src/) belongs to."""
    parts = path.parts
    if len(parts) == 1:
        return "main"
    if parts[0] == "export" and len(parts) > 2:
        return "export/" + parts[1]
    return parts[0]


def modules() -> list:
    return list(MAY_INCLUDE)


def includes():
    """(including file relative to the repo, included path relative to src/, line number)."""
    for path in sorted(SRC.rglob("*")):
        if path.suffix not in SOURCE_SUFFIXES or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for match in INCLUDE.finditer(text):
            included = match.group(1)
            if "/" not in included or included.startswith(LEAVES):
                continue  # a generated or same-directory file (oom_watch.skel.h, vmlinux.h), or a leaf
            line = text.count("\n", 0, match.start()) + 1
            yield path.relative_to(ROOT), included, line


def check_layers(show_graph: bool) -> list:
    problems = []
    graph = collections.Counter()
    for file, included, line in includes():
        source = module_of(file.relative_to("src"))
        target = module_of(pathlib.PurePosixPath(included))
        if target not in MAY_INCLUDE:
            problems.append(f"{file}:{line}: includes \"{included}\", which is in no module of src/")
            continue
        if "/detail/" in included and source != target:
            problems.append(f"{file}:{line}: includes \"{included}\", internal to {target}")
        if source == target:
            continue
        graph[(source, target)] += 1
        if target in MAY_INCLUDE[source]:
            continue
        allowed = ", ".join(sorted(MAY_INCLUDE[source])) or "nothing outside itself"
        problems.append(f"{file}:{line}: {source} includes \"{included}\" ({target}); "
                        f"{source} may include {allowed} (docs/architecture.md)")
    if show_graph:
        print("module dependency graph (includes per edge):")
        for (source, target), n in sorted(graph.items(), key=lambda e: (modules().index(e[0][0]), e[0][1])):
            print(f"  {source:18} -> {target:18} {n}")
    return problems


def source_modules() -> set:
    found = set()
    for path in SRC.rglob("*"):
        if path.suffix in SOURCE_SUFFIXES and path.is_file():
            found.add(module_of(path.relative_to(SRC)))
    return found - {"main"}


def check_test_layout() -> list:
    problems = []
    unit = ROOT / "tests" / "unit"
    present = source_modules()
    for module in sorted(present):
        if not (unit / module / "CMakeLists.txt").is_file():
            problems.append(f"src/{module}/ has no tests/unit/{module}/CMakeLists.txt (tests/unit mirrors src/)")
    for cmake in sorted(unit.rglob("CMakeLists.txt")):
        module = str(cmake.parent.relative_to(unit))
        if module not in present and module != "export":
            problems.append(f"tests/unit/{module}/ tests no module of src/ (tests/unit mirrors src/)")
    for module in sorted(present - set(MAY_INCLUDE)):
        problems.append(f"src/{module}/ is missing from MAY_INCLUDE in this script and from docs/architecture.md")
    return problems


def untested_headers() -> list:
    tests = ROOT / "tests"
    included = set()
    for path in tests.rglob("*"):
        if path.suffix in SOURCE_SUFFIXES and path.is_file():
            included.update(INCLUDE.findall(path.read_text(errors="replace")))
    return sorted(str(h.relative_to(SRC)) for h in SRC.rglob("*.h") if str(h.relative_to(SRC)) not in included)


def main() -> int:
    global ROOT, SRC
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--graph", action="store_true", help="print the module dependency graph")
    parser.add_argument("--untested", action="store_true", help="list the headers of src/ that no test includes")
    parser.add_argument("--root", type=pathlib.Path, default=ROOT, help="repository to check (default: this one)")
    args = parser.parse_args()
    ROOT = args.root.resolve()
    SRC = ROOT / "src"
    problems = check_layers(args.graph) + check_test_layout()
    if args.untested:
        print("headers no test includes:")
        for header in untested_headers():
            print(f"  src/{header}")
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} layering problem(s)", file=sys.stderr)
        return 1
    print("layers: every include of src/ follows docs/architecture.md; tests/unit mirrors src/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
