"""The flusher's side of the per-function figures (docs/protocol.md, v2).

harvest() folds what the threads' rows gained since it last looked into one
total per function for the process. From the totals come:
  * `functions` messages: what each function gained since the last delivered
    message (deltas; ramflowd adds them to its Prometheus counters). Nothing
    is queued per call: a message that could not be sent is simply rebuilt,
    bigger, at the next flush, so no call is ever lost in the agent.
  * the `net_self` message: the process' figures since ready (since start
    while nothing marked ready), the heaviest
    NET_SELF_ROWS functions and one "other" row per kind; ramflowd keeps the
    last one per process (the Execution-flow table and its reconciliation).
Runs under the transport's lock; the hot path never waits for it.
"""

import heapq
from operator import add, sub
from typing import Dict, List, Optional, Tuple

from . import _memory, _tracking

NET_SELF_ROWS = 32
ROWS_PER_PACKET = 128
OTHER = "other"
_FIELDS = _tracking.VALUES
_PEAK = _tracking.PEAK

Values = List[int]


def _zero() -> Values:
    return [0] * _FIELDS


class Aggregate:
    def __init__(self) -> None:
        self.totals: Dict[int, Values] = {}
        self.delivered: Dict[int, Values] = {}
        self.pending: Dict[int, None] = {}  # function ids with undelivered figures, in order
        self.at_ready: Optional[Dict[int, Values]] = None
        self.changed_since_snapshot = False

    def harvest(self) -> None:
        dirty = _tracking.DIRTY_ROWS
        generation = _tracking._generation
        while dirty:
            row = dirty.popleft()
            if row[_tracking.GEN] != generation:
                continue  # filled by the parent before fork
            row[_tracking.DIRTY] = 0  # before reading: a later change marks it again
            now = row[:_FIELDS]
            last = row[_tracking.LAST] or _zero()
            row[_tracking.LAST] = now
            fid = row[_tracking.FID]
            total = self.totals.get(fid)
            if total is None:
                total = self.totals[fid] = _zero()
            peak = max(total[_PEAK], now[_PEAK])  # a maximum, not a sum
            total[:] = map(add, total, map(sub, now, last))
            total[_PEAK] = peak
            self.pending[fid] = None
            self.changed_since_snapshot = True

    def mark_ready(self) -> None:
        """Calls that ended before now are not "since ready"."""
        self.harvest()
        self.at_ready = {fid: list(v) for fid, v in self.totals.items()}
        self.changed_since_snapshot = True

    # --- functions (deltas) ---------------------------------------------------

    def delta_packets(self) -> List[Tuple[str, List[int]]]:
        """(body, function ids) per packet of what is not delivered yet."""
        rows, fids = [], []
        for fid in self.pending:
            total = self.totals[fid]
            sent = self.delivered.get(fid)
            delta = list(map(sub, total, sent)) if sent else total
            rows.append(_row_text(fid, delta, peak=total[_PEAK]))
            fids.append(fid)
        return [('"type":"functions","rows":[' + ",".join(rows[i:i + ROWS_PER_PACKET]) + "]",
                 fids[i:i + ROWS_PER_PACKET]) for i in range(0, len(rows), ROWS_PER_PACKET)]

    def delivered_now(self, fids: List[int]) -> None:
        for fid in fids:
            self.delivered[fid] = list(self.totals[fid])
            self.pending.pop(fid, None)

    # --- net_self (since ready) -------------------------------------------------

    def net_self_body(self) -> str:
        """Since ready; since the agent started while nothing marked ready."""
        self.changed_since_snapshot = False
        at_ready = self.at_ready or {}
        since = []
        for fid, total in self.totals.items():
            base = at_ready.get(fid)
            values = total if base is None else [t - b for t, b in zip(total, base)]
            if values[_tracking.CALLS]:
                values[_PEAK] = total[_PEAK]  # the largest call since start: a bound, documented
                since.append((fid, values))
        heaviest = heapq.nlargest(NET_SELF_ROWS, since, key=lambda fv: fv[1][_tracking.KEPT] + fv[1][_tracking.RELEASED])
        chosen = {fid for fid, _ in heaviest}
        others: Dict[str, Values] = {}
        for fid, values in since:
            if fid not in chosen:
                kind = _tracking.LABELS[fid][1]
                other = others.setdefault(kind, _zero())
                for i in range(_FIELDS):
                    other[i] = max(other[i], values[i]) if i == _PEAK else other[i] + values[i]
        rows = [_row_text(fid, values) for fid, values in heaviest]
        rows += [_row_text(None, values, (OTHER, kind)) for kind, values in sorted(others.items())]
        return '"type":"net_self","since":"%s","rows":[%s]' % ("start" if self.at_ready is None else "ready",
                                                               ",".join(rows))


_prefixes: Dict[int, str] = {}  # function id -> '[label,kind,' as JSON


def _prefix(fid: Optional[int], key: Optional[Tuple[str, str]]) -> str:
    if key is not None:
        return "[%s,%s," % (_tracking.json_text(key[0]), _tracking.json_text(key[1]))
    text = _prefixes.get(fid)
    if text is None:
        label, kind = _tracking.LABELS[fid]
        text = _prefixes[fid] = "[%s,%s," % (_tracking.json_text(label), _tracking.json_text(kind))
    return text


def _row_text(fid: Optional[int], v: Values, key: Optional[Tuple[str, str]] = None,
              peak: Optional[int] = None) -> str:
    """[label, kind, calls, measured, errors, seconds, gross, kept, freed, released, peak, approximate]"""
    page = _memory.PAGE_SIZE
    calls, errors, ns, measured, gross, kept, freed, released, top, approx = v
    return _prefix(fid, key) + "%d,%d,%d,%.9f,%d,%d,%d,%d,%d,%s]" % (
        calls, measured, errors, ns / 1e9, gross * page, kept * page, freed * page, released * page,
        (top if peak is None else peak) * page,
        "true" if approx or _tracking.state.concurrent else "false")
