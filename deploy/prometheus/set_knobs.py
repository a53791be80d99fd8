#!/usr/bin/env python3
"""Change the thresholds and durations of ramflow-rules.yaml without editing it by hand.

Each knob's default is in thresholds/thresholds.json (entries with "knob": true);
every line of the rule file that uses a knob ends in ``# knob: NAME`` and contains
the default text exactly once. Setting knobs is two steps, the same everywhere:
``placeholders()`` turns each marked default into ``@NAME@``, ``fill()`` writes the
values in. The Helm chart ships the placeholder form (helm/sync_files.py) and fills
it in its template, so both give the same rules.

    set_knobs.py NAME=VALUE ... [--rules FILE] [-o OUT]   write the changed file
    set_knobs.py --list                                   print knobs and defaults
    set_knobs.py --check                                  verify the markers

Stdlib only.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "thresholds"))
import thresholds  # noqa: E402

RULES = Path(__file__).resolve().parent / "ramflow-rules.yaml"
_MARKER = re.compile(r"\s+# knob: (\w+)\s*$")
_PLACEHOLDER = re.compile(r"@(\w+)@")


class KnobError(ValueError):
    """A knob is unknown, or the rule file's markers do not agree with the thresholds file."""


def defaults() -> dict[str, str]:
    """Every knob and its default text (thresholds/thresholds.json)."""
    return thresholds.knobs()


def check(text: str, known: dict[str, str] | None = None) -> list[str]:
    """Problems with the knob markers of a rule file; empty when it is consistent."""
    known = defaults() if known is None else known
    used: set[str] = set()
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if _PLACEHOLDER.search(line):
            problems.append(f"line {number}: '@' placeholders belong to the chart's copy, not the rule file")
        marker = _MARKER.search(line)
        if not marker:
            continue
        name = marker.group(1)
        used.add(name)
        if name not in known:
            problems.append(f"line {number}: knob {name} is not in thresholds/thresholds.json (\"knob\": true)")
        elif line[: marker.start()].count(known[name]) != 1:
            problems.append(f"line {number}: knob {name} must contain its default {known[name]!r} exactly once")
    problems += [f"knob {name} is in thresholds/thresholds.json but no rule line uses it" for name in known if name not in used]
    return problems


def placeholders(text: str) -> str:
    """The rule file with each knob's default, on the lines that use it, replaced by @NAME@."""
    known = defaults()
    problems = check(text, known)
    if problems:
        raise KnobError("rule file knobs are inconsistent: " + "; ".join(problems))
    out = []
    for line in text.splitlines(keepends=True):
        marker = _MARKER.search(line.rstrip("\n"))
        if marker:
            name = marker.group(1)
            line = line[: marker.start()].replace(known[name], f"@{name}@") + line[marker.start():]
        out.append(line)
    return "".join(out)


def fill(template: str, values: dict[str, str]) -> str:
    """Every @NAME@ replaced by values[NAME] (what the chart's template does too)."""
    missing = sorted({m.group(1) for m in _PLACEHOLDER.finditer(template)} - set(values))
    if missing:
        raise KnobError(f"no value for knob(s) {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def apply(text: str, values: dict[str, str]) -> str:
    """The rule file with each knob in `values` set; raises KnobError on an unknown knob."""
    known = defaults()
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise KnobError(f"unknown knob(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return fill(placeholders(text), {**known, **values})


def _parse_assignments(items: list[str]) -> dict[str, str]:
    values = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise KnobError(f"expected NAME=VALUE, got {item!r} (e.g. oomRiskFor=5m)")
        values[name] = value
    return values


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", metavar="NAME=VALUE")
    parser.add_argument("--rules", type=Path, default=RULES, help="rule file (default: %(default)s)")
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    parser.add_argument("--list", action="store_true", help="print the knobs and their defaults")
    parser.add_argument("--check", action="store_true", help="verify the markers against thresholds/thresholds.json")
    args = parser.parse_args(argv)
    text = args.rules.read_text()
    try:
        if args.list:
            for name, default in defaults().items():
                print(f"{name} = {default}")
            return 0
        if args.check:
            problems = check(text)
            for problem in problems:
                print(f"{args.rules}: {problem}", file=sys.stderr)
            return 1 if problems else 0
        result = apply(text, _parse_assignments(args.assignments))
    except KnobError as error:
        print(f"set_knobs: {error}", file=sys.stderr)
        return 2
    if args.output:
        args.output.write_text(result)
    else:
        sys.stdout.write(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
