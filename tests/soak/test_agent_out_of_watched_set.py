"""A live agent pushed out of the watched set is not forgotten (~5 s).

Found by the soak work: Sampler::cycle_once() called AgentRegistry::forget(pid)
for every process the process table handed back as vanished — also a process
still alive but no longer among the --max-processes candidates. Here a watched
process with an agent is pushed out when two prefork-shaped mains (watched
first) fill --max-processes 2; forgetting it erased its facts (hello,
connected flag) and its count of drops already reported, so its next
heartbeat, repeating its cumulative total as the protocol says it must, was
added to ramflow_agent_events_dropped_total{where="agent"} again. Now only
dead processes are forgotten (or treated as OOM victims).

    /usr/bin/python3 -m pytest tests/soak/test_agent_out_of_watched_set.py
    /usr/bin/python3 tests/soak/test_agent_out_of_watched_set.py   # prints the counters
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from daemon_under_load import Ramflowd, totals, wait_until  # noqa: E402

TAG = "reproforgetlive"

# The agent: connects, says hello and claims 5 dropped records; on each line of
# stdin it repeats the same cumulative heartbeat; exits at end of input.
AGENT = r"""
import socket, sys, time
sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
sock.connect(sys.argv[1])
def heartbeat(seq):
    return ('{"v":1,"seq":%d,"type":"heartbeat","t":%.3f,"rss":1,"dropped":5,"sent":%d}' % (seq, time.time(), seq)).encode()
sock.send(b'{"v":1,"seq":0,"type":"hello","agent":"repro","python":"3","framework":"none","pool":"none",'
          b'"worker":"repro","index":null,"pid":1}')
sock.send(heartbeat(1))
seq = 2
for _ in sys.stdin:
    sock.send(heartbeat(seq))
    seq += 1
"""
# A main with one child, both matching: mains are watched first under --max-processes.
PARENT = "import os, time; os.fork(); time.sleep(20)"


def watched_pids(daemon: Ramflowd) -> set[str]:
    return {labels["pid"] for name, labels, _ in daemon.metrics() if name == "ramflow_process_info"}


def test_a_live_agent_pushed_out_of_the_watched_set_is_not_forgotten():
    assert main() == 0


def main() -> int:
    directory = Path(tempfile.mkdtemp(prefix="rfrepro"))
    # TAG reaches ramflowd through the environment: its own command line must not match.
    with Ramflowd(directory, "--max-processes", "2", env={"RAMFLOW_PROCESS_MATCH": TAG + "[x]"}) as daemon:
        agent = subprocess.Popen([sys.executable, "-c", AGENT, daemon.socket, TAG + "x"], stdin=subprocess.PIPE, text=True)
        parents = []
        try:
            wait_until(lambda: str(agent.pid) in watched_pids(daemon), 5, "the agent's process to be watched")
            first = totals(daemon.metrics(), "ramflow_agent_events_dropped_total", "where")["agent"]
            parents = [subprocess.Popen([sys.executable, "-c", PARENT, TAG + "x"], start_new_session=True)
                       for _ in range(2)]
            wait_until(lambda: str(agent.pid) not in watched_pids(daemon), 5, "the agent's process to be pushed out")
            agent.stdin.write("again\n")  # the same cumulative total: nothing new was dropped
            agent.stdin.flush()
            time.sleep(1.5)
            samples = daemon.metrics()
        finally:
            for p in parents:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            agent.stdin.close()
            agent.wait(timeout=10)
    dropped = totals(samples, "ramflow_agent_events_dropped_total", "where")["agent"]
    connected = totals(samples, "ramflow_agent_connected_processes").get(None, 0)
    print(f"agent claimed 5 dropped in total; where=\"agent\" after the first heartbeat: {first:.0f}, "
          f"after the repeat: {dropped:.0f}; connected agent processes: {connected:.0f} (its connection is open)")
    return 0 if dropped == 5 and connected == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
