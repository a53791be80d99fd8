"""Connection life: absent, late and restarted sidecar, fork, drops, sequence.
Workers are real processes; the sidecar is the Python SOCK_SEQPACKET stand-in
from conftest.py (ramflowd's own server is tested in tests/unit/ingest/)."""

import json
import os

from conftest import Sidecar, Worker



def test_sidecar_absent_neither_blocks_nor_raises_nor_grows(socket_path):
    worker = Worker("""
        import ramflow, json
        @ramflow.track
        def f(): pass
        for _ in range(20000):
            f()
        with ramflow.task("t"):
            f()
        t = ramflow._agent.get().transport
        t.flush()
        print(json.dumps({"queued": len(t.records), "outbox": len(t.outbox), "dropped": t.dropped_total}))
    """, socket_path, env={"RAMFLOW_QUEUE_LIMIT": "1000", "RAMFLOW_OUTBOX_LIMIT": "4"})
    state = json.loads(worker.finish())
    assert state["queued"] <= 1000 and state["outbox"] <= 4
    assert state["dropped"] > 0


def test_sidecar_started_after_the_worker_gets_hello_and_phases(socket_path):
    worker = Worker("""
        import ramflow
        from scenario_helpers import wait_connected, wait_drained
        ramflow.mark_ready()
        print("ready", flush=True)
        input()
        wait_connected()
        with ramflow.task("late task"):
            pass
        wait_drained()
    """, socket_path)
    assert worker.readline() == "ready"
    sidecar = Sidecar(socket_path)
    try:
        worker.tell()
        conn = sidecar.connection_of(worker.pid)
        sidecar.wait_for(lambda: len(conn.records()) == 1, "the task record")
        worker.finish()
        types = [m["type"] for m in conn.messages]
        assert types[:4] == ["hello", "phase", "phase", "task_start"], types
        assert [m["phase"] for m in conn.of_type("phase")] == ["bootstrap", "ready"]
        assert conn.of_type("hello")[0]["pid"] == worker.pid
    finally:
        sidecar.close()


def test_sidecar_restart_gets_hello_phases_and_the_running_task(socket_path):
    first = Sidecar(socket_path)
    worker = Worker("""
        import ramflow
        from scenario_helpers import wait_connected, wait_drained
        ramflow.mark_ready()
        wait_connected(1)
        with ramflow.task("long task"):
            print("in task", flush=True)
            input()
            wait_connected(2)
        wait_drained()
    """, socket_path, env={"RAMFLOW_FLUSH_MS": "5"})
    try:
        assert worker.readline() == "in task"
        old = first.connection_of(worker.pid)
        first.wait_for(lambda: len(old.of_type("task_start")) == 1)
    finally:
        first.close()
    second = Sidecar(socket_path)
    try:
        worker.tell()
        conn = second.connection_of(worker.pid)
        second.wait_for(lambda: len(conn.records()) == 1, "the task record")
        worker.finish()
        types = [m["type"] for m in conn.messages]
        assert types[:4] == ["hello", "phase", "phase", "task_start"], types
        assert conn.of_type("task_start")[0]["name"] == "long task"
        assert conn.messages[0]["seq"] == 0
    finally:
        second.close()


def test_forked_child_opens_its_own_connection(sidecar):
    worker = Worker("""
        import os, ramflow
        from scenario_helpers import wait_connected, wait_drained
        @ramflow.track("in parent")
        def parent_call(): pass
        @ramflow.track("in child")
        def child_call(): pass
        wait_connected()
        parent_call()
        pid = os.fork()
        if pid == 0:
            child_call()
            wait_connected()
            wait_drained()
            os._exit(0)
        print(pid, flush=True)
        os.waitpid(pid, 0)
        wait_drained()
    """, sidecar.path)
    child_pid = int(worker.readline())
    parent = sidecar.connection_of(worker.pid)
    child = sidecar.connection_of(child_pid)
    sidecar.wait_for(lambda: len(parent.records()) == 1 and len(child.records()) == 1, "both records")
    worker.finish()
    assert [r[0] for r in parent.records()] == ["in parent"]
    assert [r[0] for r in child.records()] == ["in child"]
    hello = child.of_type("hello")[0]
    assert hello["pid"] == child_pid
    bootstrap = [m for m in child.of_type("phase") if m["phase"] == "bootstrap"]
    assert bootstrap and bootstrap[0]["inherited"] is True
    assert child.messages[0]["seq"] == 0


def test_every_message_is_numbered_without_gaps(sidecar):
    worker = Worker("""
        import ramflow
        @ramflow.track
        def f(): pass
        for _ in range(500):
            f()
    """, sidecar.path)
    conn = sidecar.connection_of(worker.pid)
    sidecar.wait_for(lambda: len(conn.records()) == 500, "500 records")
    worker.finish()
    expected = 0
    for m in conn.messages:
        assert m["v"] == 1 and m["seq"] == expected
        expected += len(m["calls"]) if m["type"] == "calls" else 1
    assert max(len(json.dumps(m)) for m in conn.messages) < 16384 + 64


def test_drops_are_counted_and_reported(socket_path):
    # A sidecar that accepts but does not read: the socket buffer, then the
    # outbox, then the record queue fill; what overflows is counted, and the
    # count arrives in a heartbeat once the sidecar reads again.
    sidecar = Sidecar(socket_path, read=False)
    try:
        worker = Worker("""
            import ramflow, json
            from scenario_helpers import wait_connected, wait_drained
            wait_connected()
            @ramflow.track("flood")
            def f(): pass
            for _ in range(60000):
                f()
                if _ % 1000 == 0:
                    ramflow._agent.get().transport.flush()
            t = ramflow._agent.get().transport
            print(t.dropped_total, flush=True)
            input()
            wait_drained()
            t.post(ramflow._agent.get()._heartbeat_body())
        """, socket_path, env={"RAMFLOW_QUEUE_LIMIT": "2000", "RAMFLOW_OUTBOX_LIMIT": "8",
                               "RAMFLOW_HEARTBEAT_SECONDS": "3600"})
        dropped = int(worker.readline())
        assert dropped > 0
        sidecar.reading.set()
        worker.tell()
        conn = sidecar.connection_of(worker.pid)
        sidecar.wait_for(lambda: conn.of_type("heartbeat"), "a heartbeat")
        worker.finish()
        received = len([r for r in conn.records() if r[0] == "flood"])
        heartbeat = conn.of_type("heartbeat")[-1]
        assert heartbeat["dropped"] == dropped
        assert received + dropped == 60000
        assert heartbeat["sent"] == heartbeat["seq"]  # every event before it was sent on this connection
    finally:
        sidecar.close()


def test_a_sticky_message_that_triggers_the_connect_is_sent_once(socket_path):
    worker = Worker("""
        import time, ramflow
        from scenario_helpers import wait_drained
        t = ramflow._agent.get().transport
        t.stop()  # no flusher: the task start below makes the connect itself
        print("go", flush=True)
        input()
        t.next_attempt = 0
        with ramflow.task("first"):
            pass
        wait_drained()
    """, socket_path)
    assert worker.readline() == "go"
    sidecar = Sidecar(socket_path)
    try:
        worker.tell()
        conn = sidecar.connection_of(worker.pid)
        sidecar.wait_for(lambda: len(conn.records()) == 1, "the task record")
        worker.finish()
        assert [m["name"] for m in conn.of_type("task_start")] == ["first"]
        assert len(conn.of_type("hello")) == 1
    finally:
        sidecar.close()
