"""Connection life: absent, late, restarted and refusing sidecar, fork, drops,
sequence, the socket directory check. Workers are real processes; the sidecar
is the Python SOCK_SEQPACKET stand-in from conftest.py (ramflowd's own server
is tested in tests/unit/ingest/, and with the real agent in the soak)."""

import json
import os
import socket
import tempfile
import threading

from conftest import Sidecar, Worker


def test_sidecar_absent_neither_blocks_nor_raises_nor_grows_nor_loses_calls(socket_path):
    worker = Worker("""
        import ramflow, json
        @ramflow.track
        def f(): pass
        for _ in range(20000):
            f()
        for i in range(1000):
            with ramflow.task("t"):
                f()
        t = ramflow._agent.get().transport
        t.flush()
        total = t.aggregate.totals[ramflow._tracking.function_id("__main__.f")][0]
        print(json.dumps({"outbox": len(t.outbox), "dropped": t.dropped_total, "calls": total}))
    """, socket_path, env={"RAMFLOW_OUTBOX_LIMIT": "4"})
    state = json.loads(worker.finish())
    assert state["outbox"] <= 4
    # Task ends (and any timeline sample) past the outbox are dropped and counted;
    # function figures are never dropped.
    assert state["dropped"] >= 1000 - 4 * 128
    assert state["calls"] == 21000


def test_sidecar_started_after_the_worker_gets_hello_phases_and_every_call(socket_path):
    worker = Worker("""
        import ramflow
        from scenario_helpers import wait_connected, wait_drained
        @ramflow.track("early")
        def early(): pass
        ramflow.mark_ready()
        for _ in range(3000):
            early()
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
        sidecar.wait_for(lambda: [r[0] for r in conn.records() if r[1] == "task"] == ["late task"]
                         and conn.calls_of("early") == 3000, "the task and calls")
        worker.finish()
        types = [m["type"] for m in conn.messages]
        assert types[:3] == ["hello", "phase", "phase"], types
        assert "task_start" not in types and "task_ends" in types, types  # the task's start is on the board
        assert [m["phase"] for m in conn.of_type("phase")] == ["bootstrap", "ready"]
        assert conn.of_type("hello")[0]["pid"] == worker.pid
        assert conn.calls_of("late task", "task") == 1
    finally:
        sidecar.close()


def test_sidecar_restart_gets_hello_phases_the_board_and_the_net_self_table(socket_path):
    first = Sidecar(socket_path)
    worker = Worker("""
        import ramflow
        from scenario_helpers import wait_connected, wait_drained
        kept = []
        @ramflow.track("keep")
        def keep():
            kept.append(bytearray(4 << 20))
        ramflow.mark_ready()
        wait_connected(1)
        keep()
        with ramflow.task("long task"):
            print("in task", flush=True)
            input()
            wait_connected(2)
        wait_drained()
    """, socket_path)
    try:
        assert worker.readline() == "in task"
        old = first.connection_of(worker.pid)
        first.wait_for(lambda: old.running_task() == "long task" and old.net_self(), "the running task and table")
        assert ("keep", "function") in old.net_self()["rows"]
    finally:
        first.close()
    second = Sidecar(socket_path)
    try:
        conn = second.connection_of(worker.pid)
        # The new sidecar has the board with the hello: the task still running is on it.
        second.wait_for(lambda: conn.running_task() == "long task", "the running task on the board passed again")
        worker.tell()
        second.wait_for(lambda: len(conn.records()) == 1 and conn.net_self(), "the task record and the table")
        worker.finish()
        types = [m["type"] for m in conn.messages]
        assert types[:4] == ["hello", "phase", "phase", "net_self"], types
        assert "task_start" not in types
        assert conn.messages[0]["seq"] == 0
        # The new sidecar knows what "keep" kept since ready without having seen the call.
        table = conn.net_self()
        assert table["since"] == "ready" and table["rows"][("keep", "function")]["kept"] >= 3 << 20
        assert conn.calls_of("keep") == 0  # the counters' delta went to the first sidecar, once
    finally:
        second.close()


def test_a_refused_connection_loses_no_call(socket_path):
    # What ramflowd does past its connection cap: accept, then close at once.
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(socket_path)
    listener.listen(8)
    refused = []

    def refuse_some():
        for _ in range(3):
            sock, _ = listener.accept()
            sock.shutdown(socket.SHUT_RD)
            while True:  # what ramflowd reads and counts as rejected before closing
                try:
                    data = sock.recv(70000, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    break
                if not data:
                    break
                refused.append(json.loads(data)["type"])
            sock.close()

    thread = threading.Thread(target=refuse_some)
    thread.start()
    worker = Worker("""
        import ramflow, time
        from scenario_helpers import wait_drained
        t = ramflow._agent.get().transport
        @ramflow.track("f")
        def f(): pass
        for _ in range(5000):
            f()
            if _ % 500 == 0:
                time.sleep(0.05)
        print("done", flush=True)
        input()
        wait_drained()
    """, socket_path, env={"RAMFLOW_FLUSH_MS": "5"})
    try:
        assert worker.readline() == "done"
        thread.join(timeout=30)
        listener.close()
        os.unlink(socket_path)
        sidecar = Sidecar(socket_path)
        try:
            worker.tell()
            conn = sidecar.connection_of(worker.pid)
            sidecar.wait_for(lambda: conn.calls_of("f") == 5000, "all 5000 calls")
            worker.finish()
        finally:
            sidecar.close()
        # Only sticky messages go before a connection proved alive (whatever the
        # refuser read before closing; it may have closed before the agent sent).
        assert set(refused) <= {"hello", "phase", "net_self"}, refused
    finally:
        listener.close()


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
    sidecar.wait_for(lambda: parent.functions() and child.functions(), "both rows")
    worker.finish()
    assert list(parent.functions()) == [("in parent", "function")]
    assert list(child.functions()) == [("in child", "function")]
    hello = child.of_type("hello")[0]
    assert hello["pid"] == child_pid
    bootstrap = [m for m in child.of_type("phase") if m["phase"] == "bootstrap"]
    assert bootstrap and bootstrap[0]["inherited"] is True
    assert child.messages[0]["seq"] == 0


def test_every_message_is_numbered_without_gaps(sidecar):
    worker = Worker("""
        import ramflow
        from scenario_helpers import wait_drained
        kept = []
        @ramflow.track
        def f():
            kept.append(bytearray(64 << 10))
        for _ in range(500):
            f()
            if _ % 50 == 0:
                wait_drained()
        wait_drained()
    """, sidecar.path)
    conn = sidecar.connection_of(worker.pid)
    sidecar.wait_for(lambda: conn.calls_of("__main__.f") == 500, "500 calls")
    worker.finish()
    expected = 0
    for m in conn.messages:
        assert m["v"] == 3 and m["seq"] == expected
        expected += conn.events(m)
    assert conn.records(), "calls that moved RSS are sampled for the timeline"
    assert max(len(json.dumps(m)) for m in conn.messages) < 65536


def test_the_task_ends_of_a_busy_worker_all_arrive_in_batches(sidecar):
    worker = Worker("""
        import ramflow, json
        from scenario_helpers import wait_connected, wait_drained
        wait_connected()
        t = ramflow._agent.get().transport
        wait_drained()
        for i in range(5000):
            with ramflow.task("busy"):
                pass
        wait_drained()
        print(json.dumps({"dropped": t.dropped_total}), flush=True)
    """, sidecar.path)
    state = json.loads(worker.readline())
    conn = sidecar.connection_of(worker.pid)
    sidecar.wait_for(lambda: len([r for r in conn.records() if r[0] == "busy"]) == 5000, "every task end")
    worker.finish()
    assert state["dropped"] == 0
    ends = conn.of_type("task_ends")
    assert len(ends) <= 5000 // 16, "ends travel a packet's worth at a time, not one per task"
    assert conn.calls_of("busy", "task") == 5000
    starts = [r[3] for r in conn.records() if r[0] == "busy"]
    assert starts == sorted(starts)  # in the order the tasks ran


def test_drops_are_counted_and_reported(socket_path):
    # A sidecar that stops reading: the socket buffer, then the outbox fill
    # with task ends; what overflows is counted, and the count arrives in a
    # heartbeat once the sidecar reads again. Function figures are never
    # dropped: they are rebuilt from the totals.
    sidecar = Sidecar(socket_path)
    try:
        worker = Worker("""
            import ramflow, json, time
            from scenario_helpers import wait_connected, wait_drained
            wait_connected()
            t = ramflow._agent.get().transport
            while not t.proven:
                time.sleep(0.01)
            print("proven", flush=True)
            input()
            for i in range(3000):
                with ramflow.task("flood"):
                    pass
                if i % 100 == 0:
                    t.flush()
            print(t.dropped_total, flush=True)
            input()
            wait_drained()
            t.post(ramflow._agent.get()._heartbeat_body())
        """, socket_path, env={"RAMFLOW_OUTBOX_LIMIT": "8", "RAMFLOW_HEARTBEAT_SECONDS": "3600"})
        assert worker.readline() == "proven"
        sidecar.reading.clear()
        worker.tell()
        dropped = int(worker.readline())
        assert dropped > 0
        sidecar.reading.set()
        worker.tell()
        conn = sidecar.connection_of(worker.pid)
        sidecar.wait_for(lambda: conn.of_type("heartbeat"), "a heartbeat")
        worker.finish()
        received = len([r for r in conn.records() if r[0] == "flood"])
        heartbeat = conn.of_type("heartbeat")[-1]
        assert heartbeat["dropped"] >= dropped  # task ends still waiting could overflow later
        assert received < 3000
        assert conn.calls_of("flood", "task") == 3000  # the counts are exact whatever was dropped
        assert len(sidecar.connections) == 1
        assert heartbeat["sent"] == heartbeat["seq"]  # every event before it was sent on this connection
    finally:
        sidecar.close()


def test_a_sticky_message_that_triggers_the_connect_is_sent_once(socket_path):
    worker = Worker("""
        import os
        del os.memfd_create  # no board: a task start is a sticky message sent at once
        import time, ramflow
        from scenario_helpers import wait_drained
        t = ramflow._agent.get().transport
        t.stop()  # no flusher: the task start below makes the connect itself
        print("go", flush=True)
        input()
        t.next_attempt = 0
        with ramflow.task("first"):
            pass
        t.start()
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


def untrusted_directory_scenario(prepare) -> tuple:
    """Runs a worker whose socket directory `prepare(dir)` made untrusted, with a
    listener inside it; returns (what the listener received, the worker's stderr)."""
    base = tempfile.mkdtemp(prefix="ramflow-untrusted-")
    directory = prepare(base)
    path = os.path.join(directory, "ramflow.sock")
    listener = Sidecar(path)
    try:
        worker = Worker("""
            import time, ramflow
            t = ramflow._agent.get().transport
            for _ in range(5):
                t.next_attempt = 0
                t.flush()
                time.sleep(0.05)
            print(t.connects)
        """, path)
        out, err = worker.proc.communicate(timeout=30)
        assert worker.proc.returncode == 0, err
        assert out.strip() == "0"
        return listener.connections, err
    finally:
        listener.close()


def test_an_agent_does_not_connect_through_a_symlinked_directory(tmp_path):
    def prepare(base):
        real = os.path.join(base, "real")
        os.mkdir(real)
        os.symlink(real, os.path.join(base, "link"))
        return os.path.join(base, "link")
    connections, err = untrusted_directory_scenario(prepare)
    assert connections == []
    assert err.count("is a symbolic link") == 1, err  # said once, not at every attempt


def test_an_agent_does_not_connect_in_a_directory_others_may_write(tmp_path):
    def prepare(base):
        shared = os.path.join(base, "shared")
        os.mkdir(shared)
        os.chmod(shared, 0o777)
        return shared
    connections, err = untrusted_directory_scenario(prepare)
    assert connections == []
    assert err.count("writable by other users (mode 777)") == 1, err


def test_task_end_packets_stay_under_the_packet_limit_whatever_the_labels(socket_path):
    worker = Worker("""
        import json
        from ramflow import _tasks, _transport
        long = b"[" + b'"' + b"\\\\u00e9" * 256 + b'"' + b",1,2,\\"1 1 0 0 0 1 0\\",\\"1 1 0 0 0 1 0\\",0,0,null,null]"
        short = b'["t",1,2,"1 1 0 0 0 1 0","1 1 0 0 0 1 0",0,0,null,null]'
        out = []
        for ends in ([long] * 300, [short] * 300, [short, long] * 150, []):
            packets = _transport._task_end_packets(ends)
            out.append([[len(b), n] for b, n in packets])
            assert b"".join(b for b, _ in packets).count(b'"type"') == len(packets)
        print(json.dumps(out))
    """, socket_path)
    results = json.loads(worker.finish())
    for packets, total in zip(results, (300, 300, 300, 0)):
        assert sum(n for _, n in packets) == total
        assert all(size <= 60000 + 100 and 0 < n <= 128 for size, n in packets), packets
    assert len(results[0]) > 300 // 128 + 1  # long labels: split by size, not by count
    assert [n for _, n in results[1]] == [128, 128, 44]
