#!/usr/bin/python3
"""Labelled residual traces for the leak-test quality benchmark.

One process, one task every 2 s. Each row is the residual after a task
(bytes above the RSS at ready): the trace's shape plus Gaussian noise
(sigma 256 KiB) plus, on 1 task in 20 (chosen at random), a transient
+/-2 MiB outlier on that task only. Fixed seeds: the output is the same on
every run, so the files are committed and this script regenerates them.

Usage: /usr/bin/python3 tests/data/traces/generate.py [OUTPUT_DIR [SEEDS]]
(SEEDS > 20 writes extra seeds elsewhere, to check the benchmark's margins.)
"""
import csv
import os
import random
import sys

KIB = 1024
MIB = 1024 * KIB
TASK_SECONDS = 2.0
NOISE_SIGMA = 256 * KIB
OUTLIER_EVERY = 20
OUTLIER_BYTES = 2 * MIB
SEEDS = 20


def clean(rng):
    return [0.0] * 1000, {}


def staircase(rng):
    return [i * MIB for i in range(100)], {}


def slow_leak(rng):
    return [i * 64 * KIB for i in range(500)], {}


def cache(rng):
    fill_tasks = 40
    shape = [min(i + 1, fill_tasks) * MIB for i in range(fill_tasks + 1000)]
    return shape, {"plateau_task": fill_tasks}


def fragmentation(rng):
    steps = sorted(rng.sample(range(50, 950), 3))
    return [8 * MIB * sum(1 for s in steps if i >= s) for i in range(1000)], {
        "steps": " ".join(map(str, steps))}


def spike(rng):
    at = rng.randrange(50, 250)
    return [512 * MIB if i == at else 0.0 for i in range(300)], {"spike_task": at}


KINDS = {f.__name__: f for f in (clean, staircase, slow_leak, cache, fragmentation, spike)}


def trace(kind, seed):
    # One generator per (kind, seed): adding a kind never changes the others.
    rng = random.Random(f"{kind}/{seed}")
    shape, labels = KINDS[kind](rng)
    rows = []
    for task, base in enumerate(shape):
        noise = rng.gauss(0.0, NOISE_SIGMA)
        if rng.randrange(OUTLIER_EVERY) == 0:
            noise += rng.choice((-1, 1)) * OUTLIER_BYTES
        rows.append((task, task * TASK_SECONDS, round(base + noise)))
    return rows, labels


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    seeds = range(1, 1 + (int(sys.argv[2]) if len(sys.argv) > 2 else SEEDS))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "index.csv"), "w", newline="") as index_file:
        index = csv.writer(index_file)
        index.writerow(["file", "kind", "seed", "tasks", "plateau_task", "steps", "spike_task"])
        for kind in KINDS:
            for seed in seeds:
                rows, labels = trace(kind, seed)
                name = f"{kind}_{seed:02d}.csv"
                with open(os.path.join(out, name), "w", newline="") as f:
                    w = csv.writer(f)
                    w.writerow(["task", "time_s", "residual_bytes"])
                    for task, t, b in rows:
                        w.writerow([task, f"{t:g}", b])
                index.writerow([name, kind, seed, len(rows), labels.get("plateau_task", ""),
                                labels.get("steps", ""), labels.get("spike_task", "")])


if __name__ == "__main__":
    main()
