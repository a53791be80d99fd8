"""A worker for tests/e2e/test_restart.py: loads the ramflow agent, marks ready,
then runs the task `tasks.leaky` every 50 ms, each keeping 256 KiB for good —
a steady leak the sidecar's residual series ranks high within a few dozen
tasks. Runs until killed."""
import time

import ramflow

ramflow.mark_ready()
kept = []
while True:
    with ramflow.task("tasks.leaky"):
        kept.append(b"\x01" * (256 << 10))  # touched pages: real anonymous RSS
    time.sleep(0.05)
