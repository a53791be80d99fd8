"""Tasks of known memory behaviour for tests/pod/run.sh, run by a real Celery
prefork worker in the chart's worker container. Broker and backend come from
CELERY_BROKER_URL / CELERY_RESULT_BACKEND."""
import time

from celery import Celery

app = Celery("pod_tasks")
app.conf.update(worker_prefetch_multiplier=1, worker_hijack_root_logger=False, result_expires=600)

MIB = 1 << 20
_kept = []  # what retain_2mib keeps for the life of the child: a leak


@app.task(name="pod.retain_2mib")
def retain_2mib() -> int:
    _kept.append(b"\x01" * (2 * MIB))  # written, so resident
    return len(_kept)


@app.task(name="pod.noop")
def noop() -> None:
    return None


@app.task(name="pod.hold_64mib")
def hold_64mib(seconds: float) -> int:
    buffer = bytearray(64 * MIB)
    for i in range(0, len(buffer), 4096):  # touched: resident, anonymous
        buffer[i] = 1
    time.sleep(seconds)
    return len(buffer)


@app.task(name="pod.eat_memory")
def eat_memory() -> int:
    chunks = []
    while True:  # past the container's limit: the kernel OOM-kills this child
        chunk = bytearray(16 * MIB)
        for i in range(0, len(chunk), 4096):
            chunk[i] = 1
        chunks.append(chunk)
