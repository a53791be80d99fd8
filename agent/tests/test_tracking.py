"""Tracked calls: forms, net self and its definitions (nested, per thread,
invariants over random call trees), exceptions, quiet-function sampling.
Each scenario runs in a real worker process; the sidecar is the Python
SOCK_SEQPACKET stand-in from conftest.py."""

import json

from conftest import Worker

MIB = 1 << 20
PAGE = 4096
LABEL, KIND, TASK_ID, START, DURATION, RSS_BEFORE, RSS_AFTER, GROSS, NET, FLAGS = range(10)


def figures(sidecar, worker, labels, kind="function"):
    """The summed `functions` deltas of each label once every label has its calls."""
    conn = sidecar.connection_of(worker.pid)
    sidecar.wait_for(lambda: all((label, kind) in conn.functions() for label in labels), "rows of %s" % labels)
    worker.finish()
    return conn.functions()


def test_decorator_and_context_manager_forms(sidecar):
    worker = Worker("""
        import ramflow
        from scenario_helpers import wait_drained

        @ramflow.track
        def bare(): return 1

        @ramflow.track()
        def empty_parens(): return 2

        @ramflow.track("explicit label")
        def labelled(): return 3

        assert bare() + empty_parens() + labelled() == 6
        with ramflow.track("a block"):
            pass
        wait_drained()
    """, sidecar.path)
    labels = ["__main__.bare", "__main__.empty_parens", "explicit label", "a block"]
    got = figures(sidecar, worker, labels)
    for label in labels:
        row = got[(label, "function")]
        assert row["calls"] == row["measured"] == 1, (label, row)
        assert row["errors"] == 0 and row["seconds"] >= 0
        assert row["kept"] <= row["gross"] and row["freed"] <= row["gross"]


def test_decorator_keeps_the_function_identity(sidecar):
    worker = Worker("""
        import ramflow

        @ramflow.track
        def documented(x, *, y=2):
            "doc"
            return x + y

        assert documented.__name__ == "documented" and documented.__doc__ == "doc"
        assert documented(1, y=5) == 6
        print("ok")
    """, sidecar.path)
    assert worker.finish().strip() == "ok"


def test_net_self_excludes_tracked_children(sidecar):
    worker = Worker("""
        import ramflow
        from scenario_helpers import wait_drained
        kept = []

        @ramflow.track("inner")
        def inner():
            kept.append(b"i" * (16 << 20))

        @ramflow.track("outer")
        def outer():
            kept.append(b"o" * (8 << 20))
            inner()

        outer()
        wait_drained()
    """, sidecar.path)
    got = figures(sidecar, worker, ["inner", "outer"])
    inner, outer = got[("inner", "function")], got[("outer", "function")]
    assert abs(inner["kept"] - 16 * MIB) < 2 * MIB
    assert abs(outer["kept"] - 8 * MIB) < 2 * MIB
    assert outer["released"] == inner["released"] == 0
    # The outer's own path rose by its 8 MiB before the inner call started.
    assert outer["gross"] >= 8 * MIB - 2 * MIB and outer["kept"] + outer["freed"] == outer["gross"]


def test_a_caller_that_frees_its_childs_memory_releases_it_and_frees_nothing(sidecar):
    # Issue 13's proj.clean: "Freed 323.9 MiB" beside "Gross 67.6 MiB". Here the
    # caller releases what its child kept: released, not freed (it never rose itself).
    worker = Worker("""
        import ramflow
        from scenario_helpers import wait_drained

        @ramflow.track("load")
        def load():
            return bytearray(32 << 20)

        @ramflow.track("clean")
        def clean():
            data = load()
            del data

        clean()
        wait_drained()
    """, sidecar.path)
    got = figures(sidecar, worker, ["load", "clean"])
    load, clean = got[("load", "function")], got[("clean", "function")]
    assert abs(load["kept"] - 32 * MIB) < 2 * MIB
    assert abs(clean["released"] - 32 * MIB) < 2 * MIB
    assert clean["kept"] == 0 and clean["freed"] <= clean["gross"] < 2 * MIB


def test_definitions_hold_over_random_call_trees(sidecar):
    # Random trees of tracked calls that keep, free and release memory, each
    # label called once (so a row is one call): the per-call invariants hold,
    # and each tree adds up to its root's RSS change exactly.
    worker = Worker("""
        import json, random, ramflow
        from scenario_helpers import wait_drained
        kept = []
        trees = {}

        def make(rng, depth, name, labels):
            children = [make(rng, depth + 1, "%s.%d" % (name, i), labels)
                        for i in range(rng.randint(1 if depth == 0 else 0, 3 if depth < 3 else 0))]
            before, after = rng.choice([0, 1, 2, 4]) << 20, rng.choice([0, 1, 3]) << 20
            drop = rng.random() < 0.3
            labels.append(name)

            @ramflow.track(name)
            def node():
                if drop and kept:
                    kept.pop()
                scratch = bytearray(before)
                for child in children:
                    child()
                del scratch
                kept.append(bytearray(after))
                for i in range(0, len(kept[-1]), 4096):
                    kept[-1][i] = 1
            return node

        for seed in range(1, 9):
            labels = trees["t%d" % seed] = []
            make(random.Random(seed), 0, "t%d" % seed, labels)()
            wait_drained()  # the timeline keeps the last 64 samples: send each tree's
        print(json.dumps(trees), flush=True)
    """, sidecar.path)
    trees = json.loads(worker.readline())
    conn = sidecar.connection_of(worker.pid)
    every = [label for labels in trees.values() for label in labels]
    sidecar.wait_for(lambda: all((l, "function") in conn.functions() for l in every), "every node")
    worker.finish()
    got = conn.functions()
    samples = {r[LABEL]: r for r in conn.records()}
    assert len(every) >= 40
    for root, labels in trees.items():
        total = 0
        for label in labels:
            row = got[(label, "function")]
            assert row["calls"] == row["measured"] == 1
            assert 0 <= row["kept"] <= row["gross"] and 0 <= row["freed"] <= row["gross"], row
            assert row["kept"] + row["freed"] == row["gross"], row
            assert row["kept"] == 0 or row["released"] == 0, row  # one call: net self has one sign
            assert row["peak"] == row["gross"], row
            assert row["gross"] % PAGE == 0
            total += row["kept"] - row["released"]
        change = samples[root][GROSS] if root in samples else 0  # a root that moved nothing has no sample
        assert total == change, root  # net selfs telescope to the root's RSS change


def test_net_self_is_per_thread(sidecar):
    # The other thread's call happens during "waiting" but is not its child:
    # RSS is process-wide, so waiting's own figures include it.
    worker = Worker("""
        import threading, ramflow
        from scenario_helpers import wait_drained
        kept = []
        started, done = threading.Event(), threading.Event()

        @ramflow.track("other thread")
        def other():
            started.wait()
            kept.append(b"t" * (16 << 20))
            done.set()

        @ramflow.track("waiting")
        def waiting():
            started.set()
            done.wait()

        t = threading.Thread(target=other)
        t.start()
        waiting()
        t.join()
        wait_drained()
    """, sidecar.path)
    got = figures(sidecar, worker, ["waiting", "other thread"])
    waiting, other = got[("waiting", "function")], got[("other thread", "function")]
    assert abs(other["kept"] - 16 * MIB) < 2 * MIB
    assert abs(waiting["kept"] - 16 * MIB) < 2 * MIB


def test_exception_is_counted_and_propagates_unchanged(sidecar):
    worker = Worker("""
        import ramflow
        from scenario_helpers import wait_drained

        class Boom(Exception):
            pass

        @ramflow.track("failing")
        def failing():
            raise Boom("x")

        for _ in range(200):  # measured, then sampled: errors counted either way
            try:
                failing()
            except Boom as e:
                assert str(e) == "x"
        try:
            with ramflow.track("failing block"):
                raise KeyError("k")
        except KeyError:
            pass
        wait_drained()
    """, sidecar.path)
    got = figures(sidecar, worker, ["failing", "failing block"])
    assert got[("failing", "function")]["errors"] == got[("failing", "function")]["calls"] == 200
    assert got[("failing block", "function")]["errors"] == 1


def test_quiet_functions_are_sampled_and_every_call_still_counted(sidecar):
    worker = Worker("""
        import ramflow
        from scenario_helpers import wait_drained

        @ramflow.track("quiet")
        def quiet(): pass

        with ramflow.track("all"):
            for _ in range(10000):
                quiet()
        wait_drained()
    """, sidecar.path)
    row = figures(sidecar, worker, ["quiet"])[("quiet", "function")]
    assert row["calls"] == 10000
    # 64 measured before it counts as quiet, then about one in 8.
    assert 64 + 9936 / 15 <= row["measured"] <= 64 + 9936 / 4, row
    # RSS is the process': a page another thread (the flusher) faults in may land in a measured call.
    assert row["kept"] + row["released"] <= 16 * PAGE, row


def test_a_quiet_function_that_starts_keeping_memory_is_measured_again(sidecar):
    worker = Worker("""
        import ramflow
        from scenario_helpers import wait_drained
        kept = []
        grow = [False]

        @ramflow.track("sometimes")
        def sometimes():
            if grow[0]:
                b = bytearray(256 << 10)
                for i in range(0, len(b), 4096):
                    b[i] = 1
                kept.append(b)

        with ramflow.track("caller"):
            for _ in range(500):
                sometimes()
            grow[0] = True
            for _ in range(100):
                sometimes()
        wait_drained()
    """, sidecar.path)
    got = figures(sidecar, worker, ["sometimes", "caller"])
    row, caller = got[("sometimes", "function")], got[("caller", "function")]
    assert row["calls"] == 600
    # At most one sampling gap (< 15 calls) of its growth lands in the caller.
    assert row["kept"] >= (100 - 15) * 256 * 1024, row
    assert caller["kept"] < 15 * 256 * 1024 + 2 * MIB, caller
    assert abs(row["kept"] + caller["kept"] - caller["released"] - 100 * 256 * 1024) < 2 * MIB


def test_measure_all_measures_every_call(sidecar):
    worker = Worker("""
        import ramflow
        from scenario_helpers import wait_drained

        @ramflow.track("quiet")
        def quiet(): pass

        for _ in range(1000):
            quiet()
        wait_drained()
    """, sidecar.path, env={"RAMFLOW_MEASURE_ALL": "1"})
    row = figures(sidecar, worker, ["quiet"])[("quiet", "function")]
    assert row["calls"] == row["measured"] == 1000


def test_long_labels_are_cut_to_256_utf8_bytes(sidecar):
    worker = Worker("""
        import ramflow
        from scenario_helpers import wait_drained
        with ramflow.track("é" * 300):
            pass
        wait_drained()
    """, sidecar.path)
    conn = sidecar.connection_of(worker.pid)
    sidecar.wait_for(lambda: conn.functions(), "a row")
    worker.finish()
    (label, _), = conn.functions()
    assert len(label.encode()) <= 256 and label == "é" * 128


def test_a_label_that_is_not_valid_unicode_does_not_stop_the_figures(sidecar):
    worker = Worker("""
        import ramflow
        from scenario_helpers import wait_drained
        with ramflow.track("bad \\udcff label"):
            pass
        with ramflow.task("task \\udcfe"):
            pass
        from ramflow import _tasks
        _tasks.end_task(_tasks.start_task("with an id", "id \\udcfd"), False)
        with ramflow.track("good"):
            pass
        wait_drained()
    """, sidecar.path)
    conn = sidecar.connection_of(worker.pid)
    sidecar.wait_for(lambda: conn.calls_of("good") == 1, "the row after the bad one")
    worker.finish()
    labels = {label for label, _ in conn.functions()}
    assert {"bad ? label", "task ?", "good"} <= labels, labels


def test_disabled_agent_still_calls_through(socket_path):
    worker = Worker("""
        import ramflow
        @ramflow.track
        def f(): return 41 + 1
        with ramflow.track("x"):
            assert f() == 42
        print(ramflow._agent.get())
    """, socket_path, env={"RAMFLOW_DISABLE": "1"})
    assert worker.finish().strip() == "None"
