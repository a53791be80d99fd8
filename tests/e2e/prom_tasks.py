"""Celery tasks of the Prometheus/Alertmanager end-to-end test (broker: the test's Redis)."""
import os
import time

from celery import Celery

app = Celery("prom_tasks", broker=os.environ["PROM_E2E_REDIS"], backend=os.environ["PROM_E2E_REDIS"])
app.conf.update(worker_prefetch_multiplier=1, result_expires=600, worker_hijack_root_logger=False)

_kept = []  # the leak: every call keeps its buffer for the life of the process


@app.task(name="prom_tasks.leak")
def leak(mib: int) -> int:
    _kept.append(b"\x01" * (mib << 20))  # written, so resident
    return len(_kept)


@app.task(name="prom_tasks.leak_kib")
def leak_kib(kib: int) -> int:
    _kept.append(b"\x01" * (kib << 10))  # above malloc's mmap threshold: RSS grows by exactly this
    return len(_kept)


@app.task(name="prom_tasks.leak_steadily")
def leak_steadily(mib_per_step: int, step_s: float, max_s: float) -> int:
    """A steady leak: mib_per_step MiB every step_s seconds, on an absolute schedule so the
    rate does not drift with allocation time, until the OOM killer ends it (or max_s)."""
    start, steps = time.monotonic(), 0
    while time.monotonic() - start < max_s:
        _kept.append(b"\x01" * (mib_per_step << 20))
        steps += 1
        time.sleep(max(0.0, start + steps * step_s - time.monotonic()))
    return steps


@app.task(name="prom_tasks.noop")
def noop() -> None:
    return None
