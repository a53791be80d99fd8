"""Events sent at the connection cap are counted, never lost silently (issue 15,
item 6), checked with the soak's exact ledger against the real ramflowd.

The cap (4 x --max-processes = 4) is held by idle connections of this test.
1. A ledger client connects past the cap and sends a burst: every packet the
   kernel took is counted by ramflowd as rejected{reason="over_capacity"}
   (ramflowd shuts the peer's sends, reads what was queued, then closes);
   the others failed here with EPIPE and were never sent.
2. A real agent (agent/ramflow) works while it is refused again and again,
   then the cap frees: ramflowd counts every tracked call exactly, and every
   event the agent made is accepted, rejected or dropped:
       sent + dropped in the agent = accepted + rejected + dropped (ramflowd)
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from daemon_under_load import Ramflowd, report, totals, wait_until
from ledger import KEYS, Ledger, vector
from test_soak import daemon_counts

REPO = Path(__file__).resolve().parents[2]
CAP = 4


def hold_the_cap(daemon: Ramflowd) -> list[socket.socket]:
    holders = []
    for i in range(CAP):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(daemon.socket)
        s.send(('{"v":1,"seq":0,"type":"hello","agent":"holder","python":"3","framework":"none","pool":"none",'
                f'"worker":"holder-{i}","index":null,"pid":1}}').encode())
        holders.append(s)
    wait_until(lambda: totals(daemon.metrics(), "ramflow_agent_events_total", "type").get("hello") == CAP, 10,
               "the cap's holders to be accepted")
    return holders


def heartbeat(seq: int) -> bytes:
    return f'{{"v":1,"seq":{seq},"type":"heartbeat","t":{time.time():.3f},"rss":1,"dropped":0,"sent":0}}'.encode()


def test_packets_sent_past_the_cap_are_counted_exactly(tmp_path):
    with Ramflowd(tmp_path, "--max-processes", "1") as daemon:
        holders = hold_the_cap(daemon)
        ledger = Ledger(tmp_path / "refused.ledger", create=True)
        sent = failed = 0
        for attempt in range(20):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.connect(daemon.socket)
            for seq in range(25):
                ledger.begin(vector({"rejected:over_capacity": 1}))
                try:
                    s.send(heartbeat(seq), socket.MSG_NOSIGNAL)
                except (BrokenPipeError, ConnectionResetError):
                    ledger.abandon()
                    failed += 1
                    continue
                ledger.commit()
                sent += 1
            s.close()
        committed, pending = ledger.account()
        assert pending is None
        expected = [0] * len(KEYS)
        expected[KEYS.index("accepted:hello")] = CAP
        expected = [a + b for a, b in zip(expected, committed)]
        wait_until(lambda: daemon_counts(daemon) == expected, 10, "ramflowd's counts to equal the ledger")
        report(f"connection cap: {sent} packets sent past the cap, all counted as rejected over_capacity; "
               f"{failed} failed at the sender (EPIPE after the refusal)")
        for s in holders:
            s.close()


AGENT_SCRIPT = """
    import json, time, ramflow
    t = ramflow._agent.get().transport
    kept = []

    @ramflow.track("cap.quiet")
    def quiet(): pass

    @ramflow.track("cap.keep")
    def keep():
        kept.append(bytearray(64 << 10))

    loops = 0
    end = time.monotonic() + 3
    while time.monotonic() < end:          # refused at every attempt meanwhile
        for _ in range(1000):
            quiet()
        keep()
        with ramflow.task("cap.task"):
            quiet()
        loops += 1
        t.next_attempt = 0                 # keep knocking: every refusal must be counted
        time.sleep(0.01)
    print(json.dumps({"connects": t.connects}), flush=True)
    input()                                # the cap is free now
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        t.next_attempt = 0
        t.flush()
        with t.lock:
            if t.sock is not None and t.proven and not t.outbox and not t.aggregate.pending:
                break
        time.sleep(0.02)
    t.post(ramflow._agent.get()._heartbeat_body())
    t.flush()
    time.sleep(0.2)
    print(json.dumps({"loops": loops, "sent": t.sent_total, "dropped": t.dropped_total}), flush=True)
    input()
"""


def test_a_real_agent_refused_at_the_cap_loses_nothing_uncounted(tmp_path):
    with Ramflowd(tmp_path, "--max-processes", "1", "--top-functions", "10") as daemon:
        holders = hold_the_cap(daemon)
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "agent"), "RAMFLOW_SOCKET": daemon.socket,
               "RAMFLOW_FLUSH_MS": "20"}
        agent = subprocess.Popen(["/usr/bin/python3", "-c", textwrap.dedent(AGENT_SCRIPT)], env=env,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            refused = json.loads(agent.stdout.readline())
            while_refused = daemon.metrics()
            for s in holders:
                s.close()
            agent.stdin.write("go\n")
            agent.stdin.flush()
            line = agent.stdout.readline()
            assert line, agent.stderr.read()
            final = json.loads(line)

            def settled():
                samples = daemon.metrics()
                calls = {labels["function"]: v for name, labels, v in samples
                         if name == "ramflow_function_calls_total" and labels["function"].startswith("cap.")}
                if sum(calls.values()) != final["loops"] * 1003:
                    return None
                return samples, calls

            samples, calls = wait_until(settled, 15, "ramflowd to count every call")
            accepted = totals(samples, "ramflow_agent_events_total", "type")
            rejected = totals(samples, "ramflow_agent_events_rejected_total", "reason")
            dropped = totals(samples, "ramflow_agent_events_dropped_total", "where")
            agent_accepted = sum(accepted.values()) - CAP  # the holders' hellos
            ramflowd_side = agent_accepted + sum(rejected.values()) + sum(dropped.values())
            report(f"connection cap, real agent: {refused['connects']} connections refused while it made "
                   f"{final['loops'] * 1003} calls; sent {final['sent']} + dropped {final['dropped']} events = accepted "
                   f"{agent_accepted} + rejected {sum(rejected.values()):.0f} (over_capacity "
                   f"{rejected.get('over_capacity', 0):.0f}) + dropped {sum(dropped.values()):.0f}")
            assert refused["connects"] >= 3, "the agent was not refused repeatedly"
            assert totals(while_refused, "ramflow_agent_events_rejected_total", "reason").get("over_capacity", 0) > 0
            loops = final["loops"]
            assert calls == {"cap.quiet": loops * 1001, "cap.keep": loops, "cap.task": loops}, calls
            assert final["sent"] + final["dropped"] == ramflowd_side
        finally:
            agent.kill()
            agent.wait()
            for s in holders:
                s.close()
