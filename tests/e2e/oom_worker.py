"""A prefork-style Python worker for tests/e2e/test_oom.py: the main process
loads the ramflow agent (sitecustomize on PYTHONPATH) and stays alive, as a
Celery main does; its forked child writes its pid as it sees it, waits for the
go file, enters a named task and at once allocates until the OOM killer ends it."""
import os
import sys
import time

import ramflow

TASK = sys.argv[1]
pid_file, go_file = os.environ["OOM_E2E_PIDFILE"], os.environ["OOM_E2E_GO"]

ramflow.mark_ready()
child = os.fork()
if child:
    os.waitpid(child, 0)
    while True:  # the cgroup keeps a live main, so it stays watched after the kill
        time.sleep(1)

with open(pid_file + ".tmp", "w") as out:
    out.write(str(os.getpid()))
os.rename(pid_file + ".tmp", pid_file)
while not os.path.exists(go_file):
    time.sleep(0.05)

with ramflow.task(TASK):
    # No pause: the task is on the agent's task board (shared memory ramflowd
    # reads even after the kill) the moment it starts; nothing has to be sent.
    held = []
    while True:
        held.append(b"\x01" * (1 << 20))  # touched pages: real anonymous RSS
        time.sleep(0.002)
