"""Allocation-site capture in the agent: real worker processes running known
leaks (capture_leaks.py) get ramflowd's `capture` command from the Python
stand-in (conftest.py; the C++ side is tested in tests/unit and tests/e2e)
and must name the leaking line first; and the agent survives every failure
of the capture path."""

import os
import signal

import pytest

import capture_leaks
from conftest import Worker

KIB = 1 << 10
MIB = 1 << 20
LEAKS_FILE = "capture_leaks.py"


def capture(conn, ident="c1", tasks=20, seconds=30.0, frames=8, top=10, why="on_demand"):
    conn.send({"type": "capture", "id": ident, "why": why, "tasks": tasks, "seconds": seconds,
               "frames": frames, "top": top})


def result_of(sidecar, conn, ident="c1", status=("done", "failed", "refused")):
    def found():
        return [m for m in conn.of_type("allocation_sites") if m["id"] == ident and m["status"] in status]
    sidecar.wait_for(found, "the capture result " + ident)
    return found()[-1]


def tasks_ended(conn) -> int:
    return sum(len(m["ends"]) for m in conn.of_type("task_ends"))


def leak_worker(sidecar, name, extra=""):
    worker = Worker("""
        import sys
        import capture_leaks
        %s
        print("running", flush=True)
        capture_leaks.run(%r)
    """ % (extra, name), sidecar.path)
    assert worker.readline() == "running"
    conn = sidecar.connection_of(worker.pid)
    sidecar.wait_for(lambda: tasks_ended(conn), "a task")
    return worker, conn


def stop(worker) -> str:
    """Ends the worker; returns what it printed last: whether tracemalloc still traced."""
    out, err = worker.proc.communicate(timeout=20)
    assert worker.proc.returncode == 0, err
    return out.strip()


def top_site(result):
    """(bytes, blocks, source line, traceback from the site down)."""
    assert result["status"] == "done", result
    assert result["sites"], result
    size, count, code, frames, at = result["sites"][0]
    return size, count, code, frames[at:]


@pytest.mark.parametrize("name", ["dict_cache", "list_in_helper", "class_attribute", "two_calls_below"])
def test_the_leaking_line_heads_the_sites(sidecar, name):
    worker, conn = leak_worker(sidecar, name)
    capture(conn)
    result = result_of(sidecar, conn)
    stop(worker)
    size, count, code, frames = top_site(result)
    path, line, function = frames[0]
    assert path == LEAKS_FILE and line == capture_leaks.line_of("LEAK: " + name), result["sites"][:3]
    assert "LEAK: " + name in code
    assert result["ended_by"] == "tasks" and result["tasks"] == 20
    # 20 tasks of one 64 KiB block each (the first may have run before the window).
    assert 19 * capture_leaks.BLOCK <= size <= 21 * capture_leaks.BLOCK + 64 * KIB
    assert 19 <= count
    assert result["tracing"] == "agent"


def test_the_traceback_reaches_the_task_two_calls_above(sidecar):
    worker, conn = leak_worker(sidecar, "two_calls_below")
    capture(conn, frames=5)
    result = result_of(sidecar, conn)
    stop(worker)
    _, _, _, frames = top_site(result)
    assert [(f[0], f[1], f[2]) for f in frames[:3]] == [
        (LEAKS_FILE, capture_leaks.line_of("LEAK: two_calls_below"), "_store"),
        (LEAKS_FILE, capture_leaks.line_of("CALLER: two_calls_below"), "_validate"),
        (LEAKS_FILE, capture_leaks.line_of("TASK: two_calls_below"), "two_calls_below"),
    ]


def test_a_method_is_named_by_its_qualified_name(sidecar):
    worker, conn = leak_worker(sidecar, "class_attribute")
    capture(conn)
    result = result_of(sidecar, conn)
    stop(worker)
    assert top_site(result)[3][0][2] == "Session.__init__"


def test_native_growth_is_reported_as_native(sidecar):
    worker, conn = leak_worker(sidecar, "ctypes_malloc")
    capture(conn)
    result = result_of(sidecar, conn)
    stop(worker)
    assert result["status"] == "done"
    native = result["anon_growth"] - result["tracemalloc_growth"] - result["traced_growth"]
    # 20 tasks x 256 KiB malloc'd and touched: RSS grew ~5 MiB, Python objects did not.
    assert result["anon_growth"] >= 4 * MIB
    assert native >= 0.8 * (result["anon_growth"] - result["tracemalloc_growth"])
    assert all(site[0] < 64 * KIB for site in result["sites"]), result["sites"][:3]


def test_a_leak_allocated_in_the_standard_library_names_the_applications_line(sidecar):
    worker, conn = leak_worker(sidecar, "json_cache")
    capture(conn)
    result = result_of(sidecar, conn)
    stop(worker)
    size, _, code, frames = top_site(result)
    assert frames[0][:2] == [LEAKS_FILE, capture_leaks.line_of("LEAK: json_cache")], result["sites"][0]
    assert "json.loads" in code
    assert result["sites"][0][3][0][0].startswith("json/")  # the allocation itself, kept in the traceback


def test_a_clean_worker_names_no_site_above_a_small_threshold(sidecar):
    worker, conn = leak_worker(sidecar, "clean")
    capture(conn)
    result = result_of(sidecar, conn)
    stop(worker)
    assert result["status"] == "done"
    assert all(site[0] < 16 * KIB for site in result["sites"]), result["sites"][:3]


def test_a_window_ends_after_its_seconds(sidecar):
    worker, conn = leak_worker(sidecar, "dict_cache")
    capture(conn, tasks=100000, seconds=1.0)
    result = result_of(sidecar, conn)
    stop(worker)
    assert result["ended_by"] == "seconds"
    assert 1.0 <= result["ended"] - result["started"] < 10  # bound on the wait, not a timing assertion
    assert top_site(result)[3][0][1] == capture_leaks.line_of("LEAK: dict_cache")


def test_tracemalloc_is_stopped_after_the_window(sidecar):
    worker, conn = leak_worker(sidecar, "dict_cache")
    capture(conn)
    result_of(sidecar, conn)
    assert stop(worker) == "tracing False"


def test_an_application_tracemalloc_is_used_and_never_stopped(sidecar):
    worker, conn = leak_worker(sidecar, "list_in_helper", extra="import tracemalloc; tracemalloc.start(3)")
    capture(conn, frames=12)
    result = result_of(sidecar, conn)
    assert stop(worker) == "tracing True"
    assert result["tracing"] == "application" and result["frames"] == 3
    assert top_site(result)[3][0][1] == capture_leaks.line_of("LEAK: list_in_helper")


# --- the agent survives every failure of the capture path ------------------

def test_a_process_exiting_mid_window_sends_what_it_saw_and_exits_cleanly(sidecar):
    worker, conn = leak_worker(sidecar, "dict_cache")
    capture(conn, tasks=100000, seconds=600)
    sidecar.wait_for(lambda: any(m["status"] == "running" for m in conn.of_type("allocation_sites")), "running")
    started = tasks_ended(conn)
    sidecar.wait_for(lambda: tasks_ended(conn) >= started + 10, "tasks in the window")
    assert stop(worker) == "tracing True"  # the window was open when the worker's loop ended
    result = result_of(sidecar, conn)
    assert result["ended_by"] == "exit" and result["status"] == "done"
    assert top_site(result)[3][0][1] == capture_leaks.line_of("LEAK: dict_cache")


def test_a_sidecar_restart_mid_window_gets_the_window_then_its_result(socket_path):
    from conftest import Sidecar
    first = Sidecar(socket_path)
    try:
        worker, conn = leak_worker(first, "dict_cache")
        capture(conn, tasks=100000, seconds=3.0)
        first.wait_for(lambda: conn.of_type("allocation_sites"), "the running window")
    finally:
        first.close()
    second = Sidecar(socket_path)
    try:
        again = second.connection_of(worker.pid)
        second.wait_for(lambda: again.of_type("allocation_sites"), "the window re-sent on reconnect")
        assert again.of_type("allocation_sites")[0]["status"] in ("running", "done")
        result = result_of(second, again)
        assert stop(worker) == "tracing False"
    finally:
        second.close()
    assert result["ended_by"] == "seconds"
    assert top_site(result)[3][0][1] == capture_leaks.line_of("LEAK: dict_cache")


def test_a_second_capture_while_one_runs_is_refused(sidecar):
    worker, conn = leak_worker(sidecar, "dict_cache")
    capture(conn, ident="first", tasks=100000, seconds=3.0)
    sidecar.wait_for(lambda: conn.of_type("allocation_sites"), "the running window")
    capture(conn, ident="second")
    refused = result_of(sidecar, conn, "second")
    first = result_of(sidecar, conn, "first")
    stop(worker)
    assert refused["status"] == "refused" and "first" in refused["error"]
    assert first["status"] == "done"


def test_the_application_stopping_tracemalloc_fails_the_capture_not_the_worker(sidecar):
    worker = Worker("""
        import time, tracemalloc
        import ramflow, scenario_helpers
        scenario_helpers.wait_connected()
        print("connected", flush=True)
        while not tracemalloc.is_tracing():
            time.sleep(0.01)
        tracemalloc.stop()  # the application's own choice, mid-window
        with ramflow.task("after"):
            pass
        input()
    """, sidecar.path)
    assert worker.readline() == "connected"
    conn = sidecar.connection_of(worker.pid)
    capture(conn, tasks=1, seconds=60)
    result = result_of(sidecar, conn)
    worker.tell()
    worker.finish()
    assert result["status"] == "failed" and "stopped tracemalloc" in result["error"]


def test_bad_commands_are_ignored(sidecar):
    worker = Worker("""
        import ramflow, scenario_helpers
        scenario_helpers.wait_connected()
        print("connected", flush=True)
        input()
        with ramflow.task("still fine"):
            pass
        scenario_helpers.wait_drained()
    """, sidecar.path)
    assert worker.readline() == "connected"
    conn = sidecar.connection_of(worker.pid)
    conn.sock.send(b"not json")
    conn.sock.send(b"[1,2]")
    conn.sock.send(b"x" * 10000)
    conn.send({"type": "reboot"})
    conn.send({"type": "capture", "id": "c", "why": "w", "tasks": -1, "seconds": 1, "frames": 1, "top": 1})
    conn.send({"type": "capture", "id": "c", "why": "w", "tasks": 1, "seconds": 1e9, "frames": 1, "top": 1})
    conn.send({"type": "capture", "id": "c" * 100, "why": "w", "tasks": 1, "seconds": 1, "frames": 1, "top": 1})
    worker.tell()
    worker.finish()
    assert conn.records() and not conn.of_type("allocation_sites")


def test_a_child_forked_mid_window_does_not_inherit_our_tracing(sidecar):
    worker = Worker("""
        import os, time, tracemalloc
        import ramflow, scenario_helpers
        scenario_helpers.wait_connected()
        print("connected", flush=True)
        while not tracemalloc.is_tracing():
            time.sleep(0.01)
        pid = os.fork()
        if pid == 0:
            os._exit(3 if tracemalloc.is_tracing() else 0)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status), "parent tracing", tracemalloc.is_tracing(), flush=True)
        input()
    """, sidecar.path)
    assert worker.readline() == "connected"
    conn = sidecar.connection_of(worker.pid)
    capture(conn, tasks=100000, seconds=600)
    assert worker.readline() == "child 0 parent tracing True"
    worker.tell()
    worker.finish()


# --- concurrent pools: one process-wide window, every task counted -----------

CONCURRENT = """
    %s
    import threading, time
    import capture_leaks, ramflow, scenario_helpers
    scenario_helpers.wait_connected()
    task = ramflow.task("dict_cache")(capture_leaks.TASKS["dict_cache"])
    def loop(k):
        for i in range(k * 1000000, k * 1000000 + 600):
            task(i)
            time.sleep(0.005)
    print("running", flush=True)
    workers = [threading.Thread(target=loop, args=(k,)) for k in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
"""


@pytest.mark.parametrize("pool", ["threads", "gevent", "eventlet"])
def test_a_window_in_a_concurrent_pool_counts_every_task_and_names_the_line(sidecar, pool):
    patch = {"threads": "",
             "gevent": "from gevent import monkey; monkey.patch_all()",
             "eventlet": "import eventlet; eventlet.monkey_patch()"}[pool]
    # sitecustomize: the agent starts before the pool patches threading, as in a Celery worker.
    worker = Worker(CONCURRENT % patch, sidecar.path, sitecustomize=True)
    assert worker.readline() == "running"
    conn = sidecar.connection_of(worker.pid)
    capture(conn, tasks=40)
    result = result_of(sidecar, conn)
    worker.finish()
    size, count, code, frames = top_site(result)
    assert frames[0][1] == capture_leaks.line_of("LEAK: dict_cache") and "LEAK: dict_cache" in code
    assert result["ended_by"] == "tasks" and result["tasks"] == 40
    # Tasks of four threads (greenlets) overlap in one window: each of them counted, none lost.
    assert 38 * capture_leaks.BLOCK <= size <= 44 * capture_leaks.BLOCK + 64 * KIB
    assert result["tracing"] == "agent"
