"""Tasks of known memory behaviour for tests/e2e/test_celery.py. The broker and
result backend come from Celery's own CELERY_BROKER_URL / CELERY_RESULT_BACKEND."""

from celery import Celery

app = Celery("tasks")
app.conf.update(worker_prefetch_multiplier=1, worker_hijack_root_logger=False, result_expires=600)

MIB = 1 << 20
_kept = []  # what tasks.retain_32mib holds for the life of the process


@app.task(name="tasks.retain_32mib")
def retain_32mib() -> int:
    _kept.append(b"\x01" * (32 * MIB))  # written, so resident
    return len(_kept)


@app.task(name="tasks.churn_64mib")
def churn_64mib() -> int:
    buffer = b"\x02" * (64 * MIB)  # allocated, touched, freed before returning
    size = len(buffer)
    del buffer
    return size


@app.task(name="tasks.noop")
def noop() -> None:
    return None


@app.task(name="tasks.retain_4mib")
def retain_4mib() -> int:
    _kept.append(b"\x03" * (4 * MIB))  # a steady leak: 4 MiB kept per task
    return len(_kept)


_search_cache = {}  # what tasks.cache_search keeps: a cache keyed by query, never evicted


@app.task(name="tasks.cache_search")
def cache_search(query: str) -> int:
    _search_cache[query] = [query * 64 for _ in range(100)]  # LEAK: cache_search
    return len(_search_cache)
