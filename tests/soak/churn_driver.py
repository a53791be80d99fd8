"""Pids coming and going by the thousand (run as a script): forks CHILDREN
short-lived processes, at most CONCURRENCY alive at once; each connects to
ramflowd, sends hello (no worker name: ramflowd gives it a slot), a task
(task_start, then its calls record) and a
heartbeat claiming 1 dropped record, lives LIFE seconds (uniform in
[--min-life, --max-life]) with the connection open, and exits. Children that
live past a sampling interval are discovered by ramflowd's /proc scan: this
script's command line carries --tag, which the test passes to ramflowd as
--process-match. Writes {"children", "ok", "failed", "max_alive", "seconds"}
as JSON to RESULT once every child is reaped.

    churn_driver.py SOCKET RESULT --tag TAG --children N --concurrency C
"""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import time


def child(socket_path: str, life: float) -> None:
    """Never returns: exits 0 when every packet was handed to the kernel."""
    code = 3
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.connect(socket_path)
        pid = os.getpid()
        now = time.time()
        name = f"churn.task_{pid % 7}"
        for packet in (
            f'{{"v":1,"seq":0,"type":"hello","agent":"churn","python":"3","framework":"none","pool":"none","worker":"","index":null,"pid":{pid}}}',
            f'{{"v":1,"seq":1,"type":"task_start","name":"{name}","id":"{pid}","t":{now:.3f},"rss":30000000}}',
            f'{{"v":1,"seq":2,"type":"calls","calls":[["{name}","task","{pid}",{now:.3f},0.01,30000000,30004096,4096,4096,0,3,4096,null]]}}',
            f'{{"v":1,"seq":3,"type":"heartbeat","t":{now:.3f},"rss":30004096,"dropped":1,"sent":3}}',
        ):
            sock.send(packet.encode())
        code = 0
        time.sleep(life)
    finally:
        os._exit(code)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("socket")
    parser.add_argument("result")
    parser.add_argument("--tag", required=True)
    parser.add_argument("--children", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=150)
    parser.add_argument("--min-life", type=float, default=0.1)
    parser.add_argument("--max-life", type=float, default=1.5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    start = time.monotonic()
    alive: set[int] = set()
    started = ok = failed = max_alive = 0
    while started < args.children or alive:
        while started < args.children and len(alive) < args.concurrency:
            life = rng.uniform(args.min_life, args.max_life)
            pid = os.fork()
            if pid == 0:
                child(args.socket, life)
            alive.add(pid)
            started += 1
        max_alive = max(max_alive, len(alive))
        pid, status = os.waitpid(-1, 0)
        alive.discard(pid)
        if os.waitstatus_to_exitcode(status) == 0:
            ok += 1
        else:
            failed += 1
    with open(args.result, "w") as out:
        json.dump({"children": started, "ok": ok, "failed": failed, "max_alive": max_alive,
                   "seconds": round(time.monotonic() - start, 2)}, out)


if __name__ == "__main__":
    main()
