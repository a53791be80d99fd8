"""Tracked calls: forms, net self (nested, per thread), exceptions.
Each scenario runs in a real worker process; the sidecar is the Python
SOCK_SEQPACKET stand-in from conftest.py."""

from conftest import Worker

MIB = 1 << 20
LABEL, KIND, TASK_ID, START, DURATION, RSS_BEFORE, RSS_AFTER, GROSS, NET, FLAGS = range(10)


def records_by_label(sidecar, worker, count):
    conn = sidecar.connection_of(worker.pid)
    sidecar.wait_for(lambda: len(conn.records()) >= count, "%d records" % count)
    worker.finish()
    out = {}
    for r in conn.records():
        out.setdefault(r[LABEL], []).append(r)
    return out


def test_decorator_and_context_manager_forms(sidecar):
    worker = Worker("""
        import ramflow

        @ramflow.track
        def bare(): return 1

        @ramflow.track()
        def empty_parens(): return 2

        @ramflow.track("explicit label")
        def labelled(): return 3

        assert bare() + empty_parens() + labelled() == 6
        with ramflow.track("a block"):
            pass
    """, sidecar.path)
    got = records_by_label(sidecar, worker, 4)
    assert set(got) == {"__main__.bare", "__main__.empty_parens", "explicit label", "a block"}
    for (record,) in got.values():
        assert record[KIND] == "function"
        assert record[TASK_ID] is None
        assert record[DURATION] >= 0
        assert record[GROSS] == record[RSS_AFTER] - record[RSS_BEFORE]
        assert record[FLAGS] == 0


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
        kept = []

        @ramflow.track("inner")
        def inner():
            kept.append(b"i" * (16 << 20))

        @ramflow.track("outer")
        def outer():
            kept.append(b"o" * (8 << 20))
            inner()

        outer()
    """, sidecar.path)
    got = records_by_label(sidecar, worker, 2)
    (inner,), (outer,) = got["inner"], got["outer"]
    assert abs(inner[GROSS] - 16 * MIB) < 2 * MIB
    assert abs(inner[NET] - inner[GROSS]) == 0
    assert abs(outer[GROSS] - 24 * MIB) < 2 * MIB
    assert outer[NET] == outer[GROSS] - inner[GROSS]
    assert abs(outer[NET] - 8 * MIB) < 2 * MIB


def test_net_self_is_per_thread(sidecar):
    # The other thread's call happens during "waiting" but is not its child:
    # RSS is process-wide, so waiting's gross includes it and its net self too.
    worker = Worker("""
        import threading, ramflow
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
    """, sidecar.path)
    got = records_by_label(sidecar, worker, 2)
    (waiting,), (other,) = got["waiting"], got["other thread"]
    assert abs(other[GROSS] - 16 * MIB) < 2 * MIB
    assert abs(waiting[GROSS] - 16 * MIB) < 2 * MIB
    assert waiting[NET] == waiting[GROSS]


def test_exception_is_flagged_and_propagates_unchanged(sidecar):
    worker = Worker("""
        import ramflow

        class Boom(Exception):
            pass

        @ramflow.track("failing")
        def failing():
            raise Boom("x")

        try:
            failing()
        except Boom as e:
            assert str(e) == "x"
        try:
            with ramflow.track("failing block"):
                raise KeyError("k")
        except KeyError:
            pass
    """, sidecar.path)
    got = records_by_label(sidecar, worker, 2)
    assert got["failing"][0][FLAGS] & 1
    assert got["failing block"][0][FLAGS] & 1


def test_long_labels_are_cut_to_256_utf8_bytes(sidecar):
    worker = Worker("""
        import ramflow
        with ramflow.track("é" * 300):
            pass
    """, sidecar.path)
    conn = sidecar.connection_of(worker.pid)
    sidecar.wait_for(lambda: len(conn.records()) == 1)
    worker.finish()
    label = conn.records()[0][LABEL]
    assert len(label.encode()) <= 256 and label == "é" * 128


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
