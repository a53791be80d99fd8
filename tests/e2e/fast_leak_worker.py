"""A worker for tests/e2e/test_prometheus_alerts.py: loads the ramflow agent, marks
ready, waits for the go file (argv[1]), then inside the task `fast_leak` keeps
argv[2] MiB every argv[3] seconds, on an absolute schedule, until the OOM killer
ends it."""
import os
import sys
import time

import ramflow

go_file, mib, step_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
ramflow.mark_ready()
while not os.path.exists(go_file):
    time.sleep(0.02)
with ramflow.task("fast_leak"):
    held, start = [], time.monotonic()
    while True:
        held.append(b"\x01" * (mib << 20))  # touched pages: real anonymous RSS
        time.sleep(max(0.0, start + len(held) * step_s - time.monotonic()))
