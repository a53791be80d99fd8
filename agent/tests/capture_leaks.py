"""Known leaks for the allocation-site capture tests, one task each (run inside
a worker). Each leaking line carries a `# LEAK: <name>` marker: the tests find
its number there and assert it heads the captured sites.

    python3 capture_leaks.py NAME [--ready] [--pause S] [--tag WORD] [--user-tracing]   # NAME until stdin closes
"""

import ctypes
import ctypes.util
import sys
import threading
import time

BLOCK = 64 * 1024  # bytes one task leaks: ~1.3 MiB over a 20-task window, well above the noise


# --- a global dict cache keyed by request ------------------------------------

RESPONSES = {}


def dict_cache(request_id: int) -> None:
    body = bytes(BLOCK)
    RESPONSES["request-%d" % request_id] = bytearray(body)  # LEAK: dict_cache


# --- a list that grows in a helper called from the task ---------------------

AUDIT = []


def _remember(request_id: int) -> None:
    AUDIT.append(bytearray(BLOCK))  # LEAK: list_in_helper


def list_in_helper(request_id: int) -> None:
    scratch = [bytearray(1024) for _ in range(64)]  # freed at return: not a leak
    _remember(request_id)
    del scratch


# --- a class attribute accumulating objects -------------------------------

class Session:
    history = []

    def __init__(self, request_id: int) -> None:
        self.request_id = request_id
        self.payload = bytearray(BLOCK)  # LEAK: class_attribute
        Session.history.append(self)


def class_attribute(request_id: int) -> None:
    Session(request_id)


# --- a leak two calls below the task ----------------------------------------

KEPT = []


def _store(request_id: int) -> None:
    KEPT.append(bytearray(BLOCK))  # LEAK: two_calls_below


def _validate(request_id: int) -> None:
    _store(request_id)  # CALLER: two_calls_below


def two_calls_below(request_id: int) -> None:
    _validate(request_id)  # TASK: two_calls_below


# --- a leak allocated inside the standard library (json) -----------------

import json

DOCUMENT = json.dumps({"rows": [{"id": i, "name": "row %d" % i} for i in range(200)]})
PARSED = []


def json_cache(request_id: int) -> None:
    PARSED.append(json.loads(DOCUMENT))  # LEAK: json_cache


# --- native memory through ctypes -------------------------------------------

_libc = ctypes.CDLL(ctypes.util.find_library("c"))
_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]
NATIVE = []


def ctypes_malloc(request_id: int) -> None:
    size = 4 * BLOCK
    block = _libc.malloc(size)  # LEAK: ctypes_malloc
    ctypes.memset(block, 1, size)  # touched: resident
    NATIVE.append(block)  # the pointer (an int) is all Python keeps


# --- a steady growth towards a memory limit (the pre-OOM capture) ----------

GROWTH = []


def grow(request_id: int) -> None:
    GROWTH.append(b"\x01" * (512 << 10))  # LEAK: grow


# --- a clean worker ---------------------------------------------------------

def clean(request_id: int) -> None:
    rows = [{"id": i, "payload": bytes(256)} for i in range(2000)]
    total = sum(len(r["payload"]) for r in rows)
    del rows
    return total


TASKS = {f.__name__: f for f in (dict_cache, list_in_helper, class_attribute, two_calls_below, json_cache,
                                  ctypes_malloc, grow, clean)}


def line_of(marker: str) -> int:
    """The line number carrying `# <marker>` in this file."""
    with open(__file__) as f:
        for number, line in enumerate(f, 1):
            if line.rstrip().endswith("# " + marker):
                return number
    raise LookupError(marker)


def run(name: str, pause: float = 0.005, until_stdin_closes: bool = True) -> None:
    """Runs NAME's task as a ramflow task until stdin closes (or for ever)."""
    import ramflow  # here: the tests import this file for line_of without an agent
    task = ramflow.task(name)(TASKS[name])
    stop = threading.Event()
    if until_stdin_closes:
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    i = 0
    while not stop.is_set():
        task(i)
        i += 1
        time.sleep(pause)
    import tracemalloc
    print("tracing %s" % tracemalloc.is_tracing(), flush=True)


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=sorted(TASKS))
    parser.add_argument("--user-tracing", action="store_true", help="start tracemalloc first, as an application may")
    parser.add_argument("--ready", action="store_true", help="mark ready first: the sidecar's leak test needs it")
    parser.add_argument("--pause", type=float, default=0.005, help="seconds between tasks")
    parser.add_argument("--tag", default="", help="ignored: a word for the sidecar's --process-match")
    args = parser.parse_args()
    if args.user_tracing:
        import tracemalloc
        tracemalloc.start(5)
    if args.ready:
        import ramflow
        ramflow.mark_ready()
    print("running", flush=True)
    run(args.name, args.pause)
