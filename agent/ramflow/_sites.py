"""Allocation sites from tracemalloc's raw traces: what a capture window grew,
grouped by traceback, and each site named by file, line, function and source.

Raw traces are `_tracemalloc._get_traces()` tuples, (domain, size, frames,
...) with frames ((filename, lineno), ...) most recent first: grouping them
in a dict is several times cheaper than tracemalloc.Snapshot's statistics,
and the same frames tuple is shared by every trace of one traceback.
"""

import linecache
import os
import sys
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

Frames = Tuple[Tuple[str, int], ...]
Groups = Dict[Frames, List[int]]  # frames -> [bytes, blocks]

MAX_TEXT_BYTES = 128
MAX_FILE_BYTES = 256
_COMPREHENSIONS = ("<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>")
_CO_OPTIMIZED = 0x1


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


def grown(before: Groups, after: Groups, top: int) -> Tuple[List[Tuple[int, int, Frames]], int]:
    """The `top` tracebacks that grew most from `before` to `after` (bytes,
    blocks, frames), and the net change over every traceback."""
    rows = []
    net = 0
    for frames, (size, count) in after.items():
        old = before.get(frames)
        if old is not None:
            size -= old[0]
            count -= old[1]
        net += size
        if size > 0:
            rows.append((size, count, frames))
    for frames, (size, _) in before.items():
        if frames not in after:
            net -= size
    rows.sort(key=lambda r: r[0], reverse=True)
    return rows[:top], net


def _cut(text: str, limit: int, keep_tail: bool = False) -> str:
    raw = text.encode("utf-8", "replace")
    if len(raw) <= limit:
        return text
    raw = raw[-limit:] if keep_tail else raw[:limit]
    return raw.decode("utf-8", "ignore")


class Names:
    """Names frames as people read them: the path after its sys.path entry,
    the enclosing function's qualified name (from the code objects of the
    compiled source), the line's text. Sources are read once per file."""

    def __init__(self, roots: Optional[Sequence[str]] = None) -> None:
        paths = [os.path.abspath(p) for p in (sys.path if roots is None else roots) if p]
        self.roots = sorted({p.rstrip(os.sep) + os.sep for p in paths}, key=len, reverse=True)
        self._spans: Dict[str, Optional[List[Tuple[int, int, int, str]]]] = {}

    def path(self, filename: str) -> str:
        for root in self.roots:
            if filename.startswith(root):
                return _cut(filename[len(root):], MAX_FILE_BYTES, keep_tail=True)
        return _cut(filename, MAX_FILE_BYTES, keep_tail=True)

    def code(self, filename: str, lineno: int) -> str:
        return _cut(linecache.getline(filename, lineno).strip(), MAX_TEXT_BYTES)

    def function(self, filename: str, lineno: int) -> str:
        if filename not in self._spans:
            self._spans[filename] = _code_spans(filename)
        spans = self._spans[filename]
        if spans is None:
            return ""
        best = "<module>"
        best_depth = -1
        for first, last, depth, name in spans:
            if first <= lineno <= last and depth > best_depth:
                best, best_depth = name, depth
        return _cut(best, MAX_TEXT_BYTES)


def _code_spans(filename: str) -> Optional[List[Tuple[int, int, int, str]]]:
    """(first line, last line, nesting depth, qualified name) of every
    function and class body in the file; None when its source is not readable."""
    source = "".join(linecache.getlines(filename))
    if not source:
        return None
    try:
        top = compile(source, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    out: List[Tuple[int, int, int, str]] = []
    todo = [(top, 0, "")]
    while todo:
        code, depth, outer = todo.pop()
        name = getattr(code, "co_qualname", None) or (outer + "." + code.co_name if outer else code.co_name)
        if code is not top and code.co_name not in _COMPREHENSIONS:
            lines = [line for _, _, line in code.co_lines() if line] if hasattr(code, "co_lines") \
                else [line for _, line in _line_starts(code)]
            if lines:
                out.append((min(min(lines), code.co_firstlineno), max(lines), depth, name))
        for const in code.co_consts:
            if hasattr(const, "co_code"):
                inner = outer if code is top or code.co_name in _COMPREHENSIONS \
                    else name + (".<locals>" if code.co_flags & _CO_OPTIMIZED else "")  # function, not class
                todo.append((const, depth + 1, inner))
    return out


def _line_starts(code) -> List[Tuple[int, int]]:  # Python 3.9: no co_lines
    import dis
    return list(dis.findlinestarts(code))


def describe(rows: List[Tuple[int, int, Frames]], names: Names, frames_kept: int,
             own_files: Sequence[str]) -> List[list]:
    """Each grown traceback as a site row: [bytes, blocks, source line of the
    allocation, [[file, line, function], ...] most recent first] — the agent's
    own frames (its wrappers around a task) left out of the traceback."""
    skip = frozenset(own_files)
    out = []
    for size, count, frames in rows:
        shown: List[list] = []
        for filename, line in frames:
            if filename in skip or len(shown) == frames_kept:
                continue
            frame = [names.path(filename), line, names.function(filename, line)]
            if not shown or shown[-1] != frame:  # a comprehension's frame repeats its function's line
                shown.append(frame)
        if not shown and frames:
            shown.append([names.path(frames[0][0]), frames[0][1], names.function(*frames[0])])
        out.append([size, count, names.code(*frames[0]) if frames else "", shown])
    return out
