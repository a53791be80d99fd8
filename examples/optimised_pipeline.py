"""Story 2: the optimised pipeline.

A nightly-orders worker reads its input as a stream in fixed-size chunks,
aggregates into a summary whose size is bounded by the number of regions, and
keeps nothing between tasks. Each task rises a little and falls back: the
timeline stays flat, the residual stays near zero, and under ramflowd the
report ends SECURE with leak probability low.

    ramflowd run -- /usr/bin/python3 examples/optimised_pipeline.py
    PYTHONPATH=agent /usr/bin/python3 examples/optimised_pipeline.py --tasks 50   # agent only
"""

import argparse
import itertools
import json
import random
import time
from collections import Counter
from typing import Iterable, Iterator, List, Tuple

import ramflow
from ramflow import tracker

REGIONS = ("north", "south", "east", "west", "centre", "islands")
ROWS_PER_TASK = 20_000
CHUNK_ROWS = 2_000


def order_lines(rows: int, seed: int) -> Iterator[str]:
    """Stands for a CSV export read line by line: never all in memory."""
    rng = random.Random(seed)
    for i in range(rows):
        yield "%d,%s,%d\n" % (i, rng.choice(REGIONS), rng.randrange(100, 50_000))


def chunks(lines: Iterable[str], size: int) -> Iterator[List[str]]:
    it = iter(lines)
    while True:
        chunk = list(itertools.islice(it, size))
        if not chunk:
            return
        yield chunk


@ramflow.track
def parse_chunk(lines: List[str]) -> List[Tuple[str, int]]:
    rows = []
    for line in lines:
        _, region, cents = line.rstrip("\n").split(",")
        rows.append((region, int(cents)))
    return rows


@ramflow.track
def aggregate(rows: List[Tuple[str, int]], totals: Counter) -> None:
    for region, cents in rows:
        totals[region] += cents


@ramflow.track
def publish(totals: Counter) -> str:
    return json.dumps(dict(sorted(totals.items())))


def run_batch(batch: int) -> str:
    with ramflow.task("nightly_orders"):
        totals: Counter = Counter()
        for chunk in chunks(order_lines(ROWS_PER_TASK, seed=batch), CHUNK_ROWS):
            aggregate(parse_chunk(chunk), totals)
        return publish(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=60, help="batches to run (default 60)")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between batches (default 0.05)")
    args = parser.parse_args()

    ramflow.mark_ready()
    for batch in range(args.tasks):
        run_batch(batch)
        time.sleep(args.pause)
    print("ran %d batches; residual after the last task: %.1f MB"
          % (args.tasks, tracker.check_final_release()))


if __name__ == "__main__":
    main()
