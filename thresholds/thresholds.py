"""The thresholds file (thresholds/thresholds.json) for ramflow's Python tools.

    import thresholds
    thresholds.number("marginTight")   # 0.25
    thresholds.knobs()                 # {"oomRiskFor": "30s", ...}: rule knob defaults, as text

Stdlib only.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

FILE = Path(__file__).resolve().parent / "thresholds.json"


@cache
def entries(path: Path = FILE) -> dict[str, dict]:
    """Every entry by name: {"value", "unit", "help", and "knob": true for rule knobs}."""
    return json.loads(path.read_text())["thresholds"]


def number(name: str) -> float | int:
    """A threshold's value as a number (an int when whole); knobs are stored as the text the rules carry."""
    value = float(entries()[name]["value"])
    return int(value) if value.is_integer() else value


def knobs(path: Path = FILE) -> dict[str, str]:
    """The rule knobs and their default text, in file order."""
    return {name: str(entry["value"]) for name, entry in entries(path).items() if entry.get("knob")}
