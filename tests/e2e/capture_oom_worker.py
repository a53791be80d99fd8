"""A prefork-style worker for tests/e2e/test_capture.py's pre-OOM capture
(argv: a tag for the sidecar's --process-match): the main loads the agent,
marks ready and stays alive (so the cgroup stays watched after the kill, as a
Celery main does); its forked child runs capture_leaks' `grow` task, 512 KiB
kept every 0.125 s (4 MiB/s), until the OOM killer ends it."""
import os
import time

import ramflow

import capture_leaks

ramflow.mark_ready()
if os.fork():
    while True:
        time.sleep(1)
ramflow.mark_ready()
capture_leaks.run("grow", pause=0.125, until_stdin_closes=False)
