#!/usr/bin/env python3
"""Change the thresholds and durations of ramflow-rules.yaml without editing it by hand.

The rule file declares each knob with its default in its header
(``#   knob NAME = DEFAULT``) and marks every line that uses it with a trailing
``# knob: NAME``. Setting a knob replaces its default on the marked lines only.

    set_knobs.py NAME=VALUE ... [--rules FILE] [-o OUT]   write the changed file
    set_knobs.py --list                                   print knobs and defaults
    set_knobs.py --check                                  verify the markers

Stdlib only; the end-to-end test imports ``set_knobs`` to shorten ``for:`` durations.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

RULES = Path(__file__).resolve().parent / "ramflow-rules.yaml"
_DECLARATION = re.compile(r"^#\s+knob (\w+) = (.+?)\s*$")
_MARKER = re.compile(r"\s+# knob: (\w+)\s*$")


class KnobError(ValueError):
    """A knob is unknown, or the rule file's markers do not agree with its header."""


def defaults(text: str) -> dict[str, str]:
    """The knobs declared in the header of a rule file, in order, with their defaults."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _DECLARATION.match(line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def check(text: str) -> list[str]:
    """Problems with the knob markers of a rule file; empty when it is consistent."""
    declared = defaults(text)
    used: set[str] = set()
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        marker = _MARKER.search(line)
        if not marker or _DECLARATION.match(line):
            continue
        name = marker.group(1)
        used.add(name)
        if name not in declared:
            problems.append(f"line {number}: knob {name} is not declared in the header")
        elif line[: marker.start()].count(declared[name]) != 1:
            problems.append(
                f"line {number}: knob {name} must contain its default {declared[name]!r} exactly once"
            )
    problems += [f"knob {name} is declared but no line uses it" for name in declared if name not in used]
    return problems


def apply(text: str, values: dict[str, str]) -> str:
    """The rule file with each knob in `values` set; raises KnobError on an unknown knob."""
    problems = check(text)
    if problems:
        raise KnobError("rule file knobs are inconsistent: " + "; ".join(problems))
    declared = defaults(text)
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise KnobError(
            f"unknown knob(s) {', '.join(unknown)}; known: {', '.join(declared)}"
        )
    out = []
    for line in text.splitlines(keepends=True):
        marker = _MARKER.search(line.rstrip("\n"))
        if marker and not _DECLARATION.match(line) and marker.group(1) in values:
            name = marker.group(1)
            head = line[: marker.start()].replace(declared[name], values[name])
            line = head + line[marker.start():]
        elif _DECLARATION.match(line) and _DECLARATION.match(line).group(1) in values:
            name = _DECLARATION.match(line).group(1)
            line = line.replace(f"= {declared[name]}", f"= {values[name]}")
        out.append(line)
    return "".join(out)


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
    parser.add_argument("--check", action="store_true", help="verify header and markers agree")
    args = parser.parse_args(argv)
    text = args.rules.read_text()
    try:
        if args.list:
            for name, default in defaults(text).items():
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
