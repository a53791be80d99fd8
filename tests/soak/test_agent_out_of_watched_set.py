"""A live agent pushed out of the watched set is not forgotten (~5 s).

Found by the soak work: Sampler::cycle_once() called AgentRegistry::forget(pid)
for every process the process table handed back as vanished — also a process
still alive but no longer among the --max-processes candidates. Here an
agent-only process (its agent connected, the regex does not match it) is pushed
out when two regex matches fill --max-processes 2; forgetting it erased its
facts (hello, connected flag) and its count of drops already reported, so its
next heartbeat, repeating its cumulative total as the protocol says it must,
was added to ramflow_agent_events_dropped_total{where="agent"} again. Now only
dead processes are forgotten (or treated as OOM victims).

    /usr/bin/python3 -m pytest tests/soak/test_agent_out_of_watched_set.py
    /usr/bin/python3 tests/soak/test_agent_out_of_watched_set.py   # prints the counters
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


def test_a_live_agent_pushed_out_of_the_watched_set_is_not_forgotten():
    assert main() == 0


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
