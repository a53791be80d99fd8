"""Reproduction (run as a script, ~5 s): ramflowd forgets a LIVE, connected
agent when the process table stops watching it, and then counts that agent's
cumulative heartbeat "dropped" a second time.

Sampler::cycle_once() calls AgentRegistry::forget(pid) for every process the
process table handed back as vanished. A process is "vanished" as soon as it is
no longer among the --max-processes candidates, also while it is alive: here an
agent-only process (its agent connected, the regex does not match it) is pushed
out when two regex matches fill --max-processes 2. forget() erases its facts
(hello, connected flag) and its dropped_by_pid_ entry; its next heartbeat
repeats its cumulative total (as the protocol says it must) and the whole total
is added to ramflow_agent_events_dropped_total{where="agent"} again.

    /usr/bin/python3 tests/soak/repro_forget_live_agent.py
prints the counters and exits 1 while the bug is there, 0 once fixed.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from daemon_under_load import Ramflowd, totals, wait_until  # noqa: E402

TAG = "reproforgetlive"


def heartbeat(seq: int, dropped: int) -> bytes:
    return f'{{"v":1,"seq":{seq},"type":"heartbeat","t":{time.time():.3f},"rss":1,"dropped":{dropped},"sent":{seq}}}'.encode()


def watched_pids(daemon: Ramflowd) -> set[str]:
    return {labels["pid"] for name, labels, _ in daemon.metrics() if name == "ramflow_process_rss_bytes"}


def main() -> int:
    directory = Path(tempfile.mkdtemp(prefix="rfrepro"))
    # TAG reaches ramflowd through the environment: its own command line must not match.
    with Ramflowd(directory, "--max-processes", "2", env={"RAMFLOW_PROCESS_MATCH": TAG + "[x]"}) as daemon:
        # The agent: this very process (its command line has no TAG + "x"), connected, claiming 5 dropped records.
        agent = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        agent.connect(daemon.socket)
        agent.send(b'{"v":1,"seq":0,"type":"hello","agent":"repro","python":"3","framework":"none","pool":"none",'
                   b'"worker":"repro","index":null,"pid":1}')
        agent.send(heartbeat(1, 5))
        me = str(os.getpid())
        wait_until(lambda: me in watched_pids(daemon), 5, "the agent-only process to be watched")
        first = totals(daemon.metrics(), "ramflow_agent_events_dropped_total", "where")["agent"]
        # Two regex matches fill --max-processes 2 and push the agent-only process out.
        sleepers = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(20)", TAG + "x"])
                    for _ in range(2)]
        try:
            wait_until(lambda: me not in watched_pids(daemon), 5, "the agent-only process to be pushed out")
            agent.send(heartbeat(2, 5))  # the same cumulative total: nothing new was dropped
            time.sleep(1.5)
            samples = daemon.metrics()
        finally:
            for s in sleepers:
                s.kill()
                s.wait()
            agent.close()
    dropped = totals(samples, "ramflow_agent_events_dropped_total", "where")["agent"]
    connected = totals(samples, "ramflow_agent_connected_processes").get(None, 0)
    print(f"agent claimed 5 dropped in total; where=\"agent\" after the first heartbeat: {first:.0f}, "
          f"after the repeat: {dropped:.0f}; connected agent processes: {connected:.0f} (its connection is open)")
    return 0 if dropped == 5 and connected == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
