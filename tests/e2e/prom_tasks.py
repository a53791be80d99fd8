"""Celery tasks of the Prometheus/Alertmanager end-to-end test (broker: the test's Redis)."""
import os

from celery import Celery

app = Celery("prom_tasks", broker=os.environ["PROM_E2E_REDIS"], backend=os.environ["PROM_E2E_REDIS"])
app.conf.update(worker_prefetch_multiplier=1, result_expires=600, worker_hijack_root_logger=False)

_kept = []  # the leak: every call keeps its buffer for the life of the process


@app.task(name="prom_tasks.leak")
def leak(mib: int) -> int:
    _kept.append(b"\x01" * (mib << 20))  # written, so resident
    return len(_kept)


@app.task(name="prom_tasks.noop")
def noop() -> None:
    return None
