"""The Celery app of the series-churn test (tests/soak/test_series_churn.py): 25
task names that each keep a little memory for the life of the child, which
Celery recycles every 5 tasks. Broker: the test's Redis (env CHURN_REDIS). Each
child counts itself in Redis when it starts (CHILDREN_KEY), so the test knows
exactly how many children the pool made."""
import os

import redis
from celery import Celery
from celery.signals import worker_process_init

TASK_NAMES = [f"churn.task_{i:02d}" for i in range(25)]
CHILDREN_KEY = "churn:children"

app = Celery("churn_celery", broker=os.environ["CHURN_REDIS"])
app.conf.update(worker_prefetch_multiplier=1, task_ignore_result=True, worker_hijack_root_logger=False)

_kept = []


@worker_process_init.connect
def _count_child(**_) -> None:
    redis.Redis.from_url(os.environ["CHURN_REDIS"]).incr(CHILDREN_KEY)


def _make(name: str):
    @app.task(name=name)
    def task() -> None:
        _kept.append(bytearray(64 << 10))  # 64 KiB kept until the child is recycled

    return task


for _name in TASK_NAMES:
    _make(_name)
