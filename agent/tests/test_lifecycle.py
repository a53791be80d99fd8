"""Phases, the import breakdown, tasks, sitecustomize injection, framework
hooks and the python-ram-flow compatibility surface. Real worker processes;
the sidecar is the Python stand-in from conftest.py."""

import importlib.util
import os
import sys
import time

import pytest

from conftest import AGENT_DIR, Worker

MIB = 1 << 20


def test_bootstrap_then_ready_with_the_heaviest_imports(sidecar):
    worker = Worker("""
        import ramflow
        import json, decimal, email.parser, xml.dom.minidom, http.client
        ramflow.mark_ready()
        ramflow.mark_ready()  # a second marker of the same rank is ignored
    """, sidecar.path)
    conn = sidecar.connection_of(worker.pid)
    sidecar.wait_for(lambda: len(conn.of_type("phase")) == 2, "two phases")
    worker.finish()
    bootstrap, ready = conn.of_type("phase")
    assert bootstrap["phase"] == "bootstrap" and ready["phase"] == "ready"
    assert bootstrap["inherited"] is False
    assert 0 < bootstrap["rss"] <= ready["rss"] <= ready["hwm"]
    assert ready["anon"] > 0 and ready["blocks"] > bootstrap["blocks"]
    modules = [m for m, _ in ready["imports"]]
    # decimal's own cost lands on _decimal, the C module it imports (net-self rule).
    assert {"decimal", "_decimal"} & set(modules) and "http" in modules
    assert len(ready["imports"]) <= 20
    sizes = [b for _, b in ready["imports"]]
    assert sizes == sorted(sizes, reverse=True)


def test_the_running_task_is_on_the_board_and_its_end_is_one_record(sidecar):
    worker = Worker("""
        import ramflow
        kept = []
        with ramflow.task("nightly import"):
            print("started", flush=True)
            input()
            kept.append(b"k" * (16 << 20))
        print("ended", flush=True)
        input()
    """, sidecar.path)
    assert worker.readline() == "started"
    conn = sidecar.connection_of(worker.pid)
    # Nothing is sent when a task starts: the board (shared memory) says it.
    sidecar.wait_for(lambda: conn.running_task() == "nightly import", "the task on the board while it runs")
    assert conn.board()[2] == pytest.approx(time.time(), abs=60)
    assert not conn.records()
    worker.tell()
    assert worker.readline() == "ended"
    assert conn.board() == ("idle",)
    sidecar.wait_for(lambda: len(conn.records()) == 1, "the task record")
    worker.tell()
    worker.finish()
    assert not conn.of_type("task_start")
    record = conn.records()[0]
    assert record[0] == "nightly import"
    assert record[1] == "task"
    assert abs(record[8] - 16 * MIB) < 2 * MIB  # net self
    assert record[10] is not None and record[11] is not None  # blocks, RssAnon deltas
    assert abs(record[11] - 16 * MIB) < 2 * MIB
    assert record[12] is None  # exact peak is off by default


def test_without_a_board_the_task_start_is_sent_at_once(sidecar):
    worker = Worker("""
        import os
        del os.memfd_create  # as where the kernel or a sandbox has none
        import ramflow
        with ramflow.task("nightly import"):
            print("started", flush=True)
            input()
    """, sidecar.path)
    assert worker.readline() == "started"
    conn = sidecar.connection_of(worker.pid)
    sidecar.wait_for(lambda: conn.of_type("task_start"), "task_start while the task runs")
    assert conn.board_fd is None and not conn.records()
    worker.tell()
    sidecar.wait_for(lambda: len(conn.records()) == 1, "the task record")
    worker.finish()
    assert conn.of_type("task_start")[0]["name"] == conn.records()[0][0] == "nightly import"


def test_a_forked_child_writes_a_board_of_its_own(sidecar):
    worker = Worker("""
        import os, ramflow
        child = os.fork()
        if child == 0:
            with ramflow.task("in the child"):
                print("child in task", flush=True)
                input()
            os._exit(0)
        with ramflow.task("in the parent"):
            os.waitpid(child, 0)
    """, sidecar.path)
    assert worker.readline() == "child in task"
    parent = sidecar.connection_of(worker.pid)
    sidecar.wait_for(lambda: len(sidecar.connections) == 2 and all(c.board_fd is not None for c in sidecar.connections),
                     "both processes' boards")
    child = [c for c in sidecar.connections if c is not parent][0]
    sidecar.wait_for(lambda: child.running_task() == "in the child" and parent.running_task() == "in the parent",
                     "each process' own task on its own board")
    worker.tell()
    worker.finish()


def test_tracked_calls_inside_a_task_are_its_children(sidecar):
    worker = Worker("""
        import ramflow
        kept = []

        @ramflow.track("load")
        def load():
            kept.append(b"l" * (16 << 20))

        @ramflow.task("job")
        def job():
            load()

        job()
    """, sidecar.path)
    conn = sidecar.connection_of(worker.pid)
    sidecar.wait_for(lambda: len(conn.records()) == 2)
    worker.finish()
    by_label = {r[0]: r for r in conn.records()}
    assert abs(by_label["job"][7] - 16 * MIB) < 2 * MIB  # gross includes the child
    assert abs(by_label["job"][8]) < 2 * MIB             # net self does not


def test_exact_peak_resets_vmhwm_at_task_start(sidecar):
    worker = Worker("""
        import ramflow
        big = b"x" * (64 << 20)
        del big
        with ramflow.task("small"):
            tmp = b"y" * (8 << 20)
            del tmp
    """, sidecar.path, env={"RAMFLOW_EXACT_PEAK": "1"})
    conn = sidecar.connection_of(worker.pid)
    sidecar.wait_for(lambda: len(conn.records()) == 1)
    worker.finish()
    record = conn.records()[0]
    peak = record[12]
    assert peak is not None
    assert record[5] + 6 * MIB <= peak < record[5] + 32 * MIB  # not the 64 MiB from before


def test_sitecustomize_loads_the_agent_and_chains_to_the_next(sidecar, tmp_path):
    (tmp_path / "sitecustomize.py").write_text("import os\nos.environ['CHAINED'] = 'yes'\n")
    worker = Worker("""
        import os, sys
        print("ramflow" in sys.modules, os.environ.get("CHAINED"))
    """, sidecar.path, sitecustomize=True,
        env={"PYTHONPATH": os.path.join(AGENT_DIR, "sitecustomize") + os.pathsep + str(tmp_path)})
    conn = sidecar.connection_of(worker.pid)
    sidecar.wait_for(lambda: conn.of_type("phase"), "the bootstrap phase")
    assert worker.finish().strip() == "True yes"
    assert conn.of_type("phase")[0]["phase"] == "bootstrap"


def test_compat_tracker_labels_and_helpers(sidecar, tmp_path):
    worker = Worker("""
        import json
        from ramflow import tracker

        @tracker.track
        def load_user_rows(batch_id=None):
            return 1

        @tracker.track("Custom Label")
        def other():
            return 2

        load_user_rows(batch_id=7)
        other()
        tracker.log_django_bootstrap()
        residual = tracker.check_final_release()
        path = tracker.generate_report(suffix="audit")
        print(json.dumps({"residual": residual, "path": path}))
    """, sidecar.path, env={"RAMFLOW_REPORTS_DIR": str(tmp_path), "APP_ENV": "test"})
    conn = sidecar.connection_of(worker.pid)
    sidecar.wait_for(lambda: len(conn.functions()) == 2, "both rows")
    import json
    out = json.loads(worker.finish())
    assert sorted(label for label, _ in conn.functions()) == ["Custom Label", "LOAD USER ROWS"]
    assert isinstance(out["residual"], float)
    assert out["path"].startswith(str(tmp_path)) and out["path"].endswith("_test_audit.json")
    report = json.loads(open(out["path"]).read())
    assert report["batches"] == {"LOAD USER ROWS": ["batch:7"]}
    assert any(m["type"] == "phase" and m["phase"] == "ready" for m in conn.messages)


def test_celery_pool_names():
    sys.path.insert(0, AGENT_DIR)
    try:
        spec = importlib.util.spec_from_file_location("ramflow_celery_probe",
                                                      os.path.join(AGENT_DIR, "ramflow", "_celery.py"),
                                                      submodule_search_locations=None)
        # _celery only imports ramflow._tasks lazily through the package: load it in the package.
        from ramflow._celery import pool_name
    finally:
        sys.path.remove(AGENT_DIR)
    assert spec is not None
    assert pool_name("prefork") == "prefork"
    assert pool_name("processes") == "prefork"
    assert pool_name("solo") == "solo"
    assert pool_name("threads") == "threads"
    assert pool_name("gevent") == "gevent"
    assert pool_name("eventlet") == "eventlet"
    assert pool_name("celery.concurrency.prefork:TaskPool") == "prefork"
    assert pool_name("my.module:Pool") == "custom"


@pytest.mark.skipif(importlib.util.find_spec("django") is None, reason="python3-django not installed")
def test_django_setup_marks_ready(sidecar, tmp_path):
    worker = Worker("""
        import ramflow
        import django
        from django.conf import settings
        settings.configure(INSTALLED_APPS=["django.contrib.contenttypes"])
        django.setup()
    """, sidecar.path)
    conn = sidecar.connection_of(worker.pid)
    sidecar.wait_for(lambda: any(m.get("phase") == "ready" for m in conn.of_type("phase")), "ready")
    worker.finish()
    assert any(m["framework"] == "django" for m in conn.of_type("hello"))
    ready = [m for m in conn.of_type("phase") if m["phase"] == "ready"][0]
    # Django's own cost is split among what it imports (asyncio, pytz, ...).
    assert len(ready["imports"]) == 20


def test_overlapping_tasks_are_marked_approximate(sidecar):
    worker = Worker("""
        import threading, ramflow
        both_in = threading.Barrier(2)

        def run(name):
            with ramflow.task(name):
                both_in.wait()

        threads = [threading.Thread(target=run, args=("t%d" % i,)) for i in range(2)]
        for t in threads: t.start()
        for t in threads: t.join()
        with ramflow.task("alone"):
            pass
    """, sidecar.path)
    conn = sidecar.connection_of(worker.pid)
    sidecar.wait_for(lambda: len(conn.records()) == 3)
    worker.finish()
    flags = {r[0]: r[9] for r in conn.records()}
    assert flags["t0"] & 2 and flags["t1"] & 2
    assert not flags["alone"] & 2


def test_the_agents_modules_import_each_other_without_a_cycle():
    # Issue 14: _agent -> _celery -> _tasks -> _agent (through the _agent.get()
    # singleton). Every relative import counts, also those inside functions.
    import ast
    package = os.path.join(AGENT_DIR, "ramflow")
    graph = {}
    for name in os.listdir(package):
        if not name.endswith(".py") or name == "__init__.py":
            continue
        tree = ast.parse(open(os.path.join(package, name)).read())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                imported |= {node.module} if node.module else {a.name for a in node.names}
        graph[name[:-3]] = {m.split(".")[0] for m in imported}
    assert "_tasks" in graph and "_agent" not in graph["_tasks"]

    def visit(module, path):
        assert module not in path, "import cycle: " + " -> ".join(path + [module])
        for nxt in graph.get(module, ()):
            visit(nxt, path + [module])

    for module in graph:
        visit(module, [])


def test_a_board_fd_closed_behind_the_agents_back_is_replaced(sidecar):
    worker = Worker("""
        import os, time, ramflow
        from ramflow import _tasks
        from scenario_helpers import wait_connected
        wait_connected()
        old = _tasks._board
        os.close(old.fd)  # what a daemonizer closing every fd does
        deadline = time.monotonic() + 20
        while _tasks._board is old and time.monotonic() < deadline:
            time.sleep(0.05)
        with ramflow.task("after"):
            print("in task", flush=True)
            input()
    """, sidecar.path)
    assert worker.readline() == "in task"
    conn = sidecar.connection_of(worker.pid)
    sidecar.wait_for(lambda: conn.running_task() == "after", "the task on the new board, passed with a new hello")
    assert len(conn.of_type("hello")) >= 2
    worker.tell()
    worker.finish()
