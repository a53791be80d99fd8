"""A counter never goes down (issue 15, item 7), against the real ramflowd.

At commit 13c388f a sequence jump of 2^53 (the largest seq a packet may
carry), repeated on new connections, wrapped
ramflow_agent_events_dropped_total{where="gap"} from 1.84e19 down to 4.77e17
after 2^64 / 2^53 = 2048 jumps. Counters now saturate at 2^64 - 1.
"""
from __future__ import annotations

import socket
import time

from daemon_under_load import Ramflowd, report, totals

JUMP = 1 << 53
CONNECTIONS = 2200  # past the 2048 jumps that wrapped the counter
TOP = float(2**64 - 1)
PRINTED_TOP = TOP * (1 - 1e-15)  # the exposition prints 16 significant digits


def gap_count(daemon: Ramflowd) -> float:
    return totals(daemon.metrics(), "ramflow_agent_events_dropped_total", "where").get("gap", 0.0)


def test_a_seq_jump_of_2_to_the_53_repeated_saturates_and_never_decreases(tmp_path):
    with Ramflowd(tmp_path) as daemon:
        seen = [gap_count(daemon)]
        for i in range(CONNECTIONS):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.connect(daemon.socket)
            s.send(f'{{"v":1,"seq":{JUMP},"type":"heartbeat","t":{time.time():.3f},"rss":1,"dropped":0,"sent":0}}'
                   .encode())
            s.close()
            if i % 200 == 0:
                seen.append(gap_count(daemon))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and seen[-1] < PRINTED_TOP:
            time.sleep(0.25)
            seen.append(gap_count(daemon))
        accepted = totals(daemon.metrics(), "ramflow_agent_events_total", "type").get("heartbeat", 0)
    report(f"counter extremes: {CONNECTIONS} jumps of 2^53: gap counter {seen[1]:.4g} -> {seen[-1]:.6g} "
           f"(saturated at 2^64 - 1), never lower than before; {accepted:.0f} heartbeats accepted")
    assert all(b >= a for a, b in zip(seen, seen[1:])), seen
    assert PRINTED_TOP <= seen[-1] <= TOP
    assert accepted == CONNECTIONS
