"""Allocation sites from tracemalloc's raw traces: what a capture window grew,
grouped by traceback, and each site named by file, line, function and source.

Raw traces are `_tracemalloc._get_traces()` tuples, (domain, size, frames,
...) with frames ((filename, lineno), ...) most recent first: grouping them
in a dict is several times cheaper than tracemalloc.Snapshot's statistics,
and the same frames tuple is shared by every trace of one traceback.
"""

import linecache
import os
import re
import sys
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

Frames = Tuple[Tuple[str, int], ...]
Groups = Dict[Frames, List[int]]  # frames -> [bytes, blocks]

MAX_TEXT_BYTES = 128
MAX_FILE_BYTES = 256
_SCOPE = re.compile(r"\s*(?:async\s+)?(def|class)\s+([A-Za-z_][A-Za-z_0-9]*)")


def group(traces: Iterable[tuple], own_files: Sequence[str]) -> Groups:
    """Bytes and blocks per traceback, leaving out the agent's own
    allocations: those whose first frame outside the standard library is in
    `own_files` (the agent's modules, e.g. its flusher's json encoding)."""
    out: Groups = {}
    own = frozenset(own_files)
    agents: Dict[Frames, bool] = {}
    get = out.get
    for trace in traces:
        frames = trace[2]
        row = get(frames)
        if row is not None:
            row[0] += trace[1]
            row[1] += 1
            continue
        ours = agents.get(frames)
        if ours is None:
            ours = agents[frames] = _by_agent(frames, own)
        if not ours:
            out[frames] = [trace[1], 1]
    return out


def _stdlib_dirs() -> Tuple[str, ...]:
    import sysconfig
    paths = sysconfig.get_paths()
    return tuple({os.path.join(paths[k], "") for k in ("stdlib", "platstdlib") if paths.get(k)})


_STDLIB = _stdlib_dirs()


def _is_stdlib(filename: str) -> bool:
    return filename.startswith(_STDLIB) and "-packages" + os.sep not in filename


def _by_agent(frames: Frames, own: frozenset) -> bool:
    for filename, _ in frames:
        if not _is_stdlib(filename):
            return filename in own
    return False


def changes(before: Groups, after: Groups) -> Tuple[List[Tuple[int, int, Frames]], int]:
    """Every traceback whose bytes changed from `before` to `after` (bytes,
    blocks, frames), and the net change over all of them."""
    rows = []
    for frames, (size, count) in after.items():
        old = before.get(frames)
        if old is not None:
            size -= old[0]
            count -= old[1]
        if size:
            rows.append((size, count, frames))
    rows.extend((-size, -count, frames) for frames, (size, count) in before.items() if frames not in after)
    return rows, sum(r[0] for r in rows)


Site = Tuple[int, int, List[Tuple[str, int]], int]  # bytes, blocks, traceback kept, index of the site in it


def top_sites(rows: List[Tuple[int, int, Frames]], own_files: Sequence[str], top: int, frames_kept: int) -> List[Site]:
    """The `top` sites that grew most. A site is the first frame of the
    application's own code (outside the standard library and *-packages),
    else the first outside the standard library, else the allocation itself:
    json.loads' internals are not the line to fix. Tracebacks meeting at one
    site (and the same callers) are summed, frees included; each keeps the
    frames of its largest contributor, from the allocation, without the
    agent's own frames (its task wrappers)."""
    skip = frozenset(own_files)
    merged: Dict[tuple, list] = {}
    for size, count, frames in rows:
        kept: List[Tuple[str, int]] = []
        for frame in frames:
            if frame[0] in skip or len(kept) == frames_kept:
                continue
            if not kept or kept[-1] != frame:  # a comprehension's frame repeats its function's line
                kept.append(frame)
        if not kept and frames:
            kept.append(frames[0])
        at = _site_index(kept)
        key = tuple(kept[at:])
        entry = merged.get(key)
        if entry is None:
            merged[key] = [size, count, kept, at, size]
            continue
        entry[0] += size
        entry[1] += count
        if size > entry[4]:
            entry[2], entry[3], entry[4] = kept, at, size
    sites = sorted((e for e in merged.values() if e[0] > 0), key=lambda e: e[0], reverse=True)
    return [(e[0], e[1], e[2], e[3]) for e in sites[:top]]


def _site_index(frames: Sequence[Tuple[str, int]]) -> int:
    outside = [i for i, (f, _) in enumerate(frames) if not _is_stdlib(f)]
    for i in outside:
        if "-packages" + os.sep not in frames[i][0]:
            return i
    return outside[0] if outside else 0


def cut(text: str, limit: int, keep_tail: bool = False) -> str:
    raw = text.encode("utf-8", "replace")
    if len(raw) <= limit:
        return text
    raw = raw[-limit:] if keep_tail else raw[:limit]
    return raw.decode("utf-8", "ignore")


class Names:
    """Names frames as people read them: the path after its sys.path entry,
    the enclosing function's qualified name, the line's text. The function
    is found in the source (linecache) by indentation: the nearest `def` or
    `class` above the line and less indented, then theirs — no compile, whose
    memory the worker would keep."""

    def __init__(self, roots: Optional[Sequence[str]] = None) -> None:
        paths = [os.path.abspath(p) for p in (sys.path if roots is None else roots) if p]
        self.roots = sorted({p.rstrip(os.sep) + os.sep for p in paths}, key=len, reverse=True)

    def path(self, filename: str) -> str:
        for root in self.roots:
            if filename.startswith(root):
                return cut(filename[len(root):], MAX_FILE_BYTES, keep_tail=True)
        return cut(filename, MAX_FILE_BYTES, keep_tail=True)

    def code(self, filename: str, lineno: int) -> str:
        return cut(linecache.getline(filename, lineno).strip(), MAX_TEXT_BYTES)

    def function(self, filename: str, lineno: int) -> str:
        """"" when the source cannot be read; "<module>" outside any function."""
        lines = linecache.getlines(filename)
        if not 0 < lineno <= len(lines):
            return ""
        return cut(enclosing(lines, lineno - 1), MAX_TEXT_BYTES)


def _indent(line: str) -> Optional[int]:
    """Its indentation; None for a blank or comment line (no scope there)."""
    stripped = line.lstrip()
    if not stripped or stripped.startswith("#"):
        return None
    return len(line) - len(stripped)


def enclosing(lines: Sequence[str], index: int) -> str:
    """The qualified name of the function (or class) holding lines[index],
    as __qualname__ spells it ("outer.<locals>.inner", "Class.method")."""
    names: List[str] = []
    limit = _indent(lines[index])
    limit = 1 << 30 if limit is None else limit
    for i in range(index - 1, -1, -1):
        indent = _indent(lines[i])
        if indent is None or indent >= limit:
            continue
        limit = indent  # a less indented line opens the block that holds ours
        match = _SCOPE.match(lines[i])
        if match is not None:
            if names and match.group(1) == "def":
                names.append("<locals>")
            names.append(match.group(2))
        if indent == 0:
            break
    return ".".join(reversed(names)) or "<module>"


def describe(sites: List[Site], names: Names) -> List[list]:
    """Site rows as sent: [bytes, blocks, source line of the site,
    [[file, line, function], ...] most recent first, index of the site]."""
    return [[size, count, names.code(*frames[at]) if frames else "",
             [[names.path(f), line, names.function(f, line)] for f, line in frames], at]
            for size, count, frames, at in sites]
