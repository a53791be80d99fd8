"""Story 1: the forgotten global search cache.

A product-search worker memoises the results of every query in a module-level
dict "to be fast". Queries carry the user's words and page number, so almost
every key is new: the cache never stops growing. Under ramflowd the report
ends BLOATED, leak probability high, and `cached_search` tops the Net self
table (the results it stores are retained by the call itself, not by its
children).

    ramflowd run -- /usr/bin/python3 examples/search_cache.py
    PYTHONPATH=agent /usr/bin/python3 examples/search_cache.py --tasks 50   # agent only

The fix is in examples/optimised_pipeline.py's spirit: bound the cache
(functools.lru_cache(maxsize=...)) or cache ids, not copies.
"""

import argparse
import json
import random
import time
from typing import Dict, List

import ramflow
from ramflow import tracker

WORDS = ("red blue green steel oak linen wool cotton lamp desk chair shelf "
         "table rug mirror vase clock frame sofa stool bench bowl").split()
CATALOGUE_SIZE = 20_000
RESULTS_PER_QUERY = 1_500

# The culprit: keyed by every query, never evicted.
_SEARCH_CACHE: Dict[str, List[dict]] = {}


def load_catalogue() -> List[dict]:
    """The framework tax: loaded once, before the worker is ready."""
    rng = random.Random(7)
    return [{"id": i, "name": "product %d" % i, "words": rng.sample(WORDS, 3),
             "price_cents": rng.randrange(500, 90_000)} for i in range(CATALOGUE_SIZE)]


@ramflow.track
def tokenize(query: str) -> List[str]:
    return [w for w in query.lower().split() if w in WORDS]


@ramflow.track
def cached_search(catalogue: List[dict], query: str) -> List[dict]:
    hit = _SEARCH_CACHE.get(query)
    if hit is None:
        words = set(tokenize(query))
        # Copies, not ids: each cached query holds its own result dicts.
        hit = [dict(item, score=len(words.intersection(item["words"])))
               for item in catalogue if words.intersection(item["words"])][:RESULTS_PER_QUERY]
        _SEARCH_CACHE[query] = hit
    return hit


@ramflow.track
def render_page(results: List[dict]) -> int:
    """Heavy but clean: a big JSON string that is freed on return."""
    return len(json.dumps(results[:200]))


def handle(catalogue: List[dict], query: str) -> int:
    with ramflow.task("search"):
        return render_page(cached_search(catalogue, query))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200, help="queries to serve (default 200)")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between queries (default 0.05)")
    args = parser.parse_args()

    catalogue = load_catalogue()
    ramflow.mark_ready()
    rng = random.Random(11)
    for n in range(args.tasks):
        query = "%s %s page %d" % (rng.choice(WORDS), rng.choice(WORDS), n)
        handle(catalogue, query)
        time.sleep(args.pause)
    print("served %d queries, %d cached; residual after the last task: %.1f MB"
          % (args.tasks, len(_SEARCH_CACHE), tracker.check_final_release()))


if __name__ == "__main__":
    main()
