"""The agent's side of the wire (docs/protocol.md, version 3): one
non-blocking SOCK_SEQPACKET connection, sequence numbers, sticky messages
re-sent on every (re)connect, the task board's fd passed with every hello,
a bounded outbox, drop counting and a background flusher.

What the flusher sends each tick (and when the hot path wakes it because task
ends are piling up): the timeline samples and task ends waiting; once a second, the per-function figures gained since the last
delivered `functions` message (_aggregate.py) and the net-self table. A fresh connection gets the sticky
messages at once, everything else only once it is *proven*: ramflowd has read
what we sent on it (our unread bytes, SIOCOUTQ, are 0) and it is still open.
ramflowd refuses a connection past its cap by shutting our sends, reading and
counting what we had queued, and closing it: before proof only sticky
messages (re-sent on the next connection anyway) can be lost that way, and
after proof a refusal can only make our sends fail.

ramflowd's commands (a `capture`, docs/protocol.md) arrive on the same
connection: the flusher reads them at each tick, never the worker, and hands
each decoded command to `on_command` outside the lock.

Only `_socket` and `_thread` primitives are used: gevent and eventlet patch
`socket`, `threading` and `time`, and the flusher must stay a real OS thread
with a real socket whatever the worker patched after the agent loaded.
"""

import _socket
import _thread
import errno
import fcntl
import json
import os
import struct
import sys
import termios
import time
from collections import deque
from typing import Callable, Deque, Dict, Hashable, List, Optional, Set, Tuple, Union

from . import _memory, _socket_dir, _tasks, _tracking
from ._aggregate import Aggregate

PROTOCOL_VERSION = 3
RECORDS_PER_PACKET = 32
PACKET_BODY_BYTES = 60000  # ramflowd reads packets of at most 65 536 bytes
MIN_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0
ALIVE_CHECK_SECONDS = 1.0
PROVE_SECONDS = 0.05
COMMAND_BYTES = 4096          # a command is a small JSON object; larger packets are cut and ignored
COMMANDS_WAITING = 16         # read per tick at most; the rest wait for the next one
NET_SELF_SECONDS = 1.0
FUNCTIONS_SECONDS = 1.0

_SOCK_SEQPACKET = getattr(_socket, "SOCK_SEQPACKET", 5)
_SOCK_CLOEXEC = getattr(_socket, "SOCK_CLOEXEC", 0)
_MSG_DONTWAIT = getattr(_socket, "MSG_DONTWAIT", 0x40)
_MSG_NOSIGNAL = getattr(_socket, "MSG_NOSIGNAL", 0x4000)
_SCM_RIGHTS = getattr(_socket, "SCM_RIGHTS", 1)
_monotonic = time.monotonic
_thread_time_ns = time.thread_time_ns
# Bound at import, before a worker monkey-patches _thread (gevent does).
_allocate_lock = _thread.allocate_lock
_start_new_thread = _thread.start_new_thread

# (body without the envelope, events it numbers, sticky key); task ends are bytes
_Body = Union[str, bytes]
_Packet = Tuple[_Body, int, Optional[Hashable]]
_SAMPLE = '[%s,"function",null,%.6f,%.9f,%d,%d,%d,%d,%d,null,null,null]'


class Transport:
    def __init__(self, path: str, aggregate: Aggregate, heartbeat_body: Callable[[], str],
                 housekeeping: Callable[[], None], outbox_limit: int, flush_seconds: float,
                 heartbeat_seconds: float) -> None:
        self.path = path
        self.aggregate = aggregate
        self.heartbeat_body = heartbeat_body
        self.housekeeping = housekeeping
        self.outbox_limit = outbox_limit
        self.flush_seconds = flush_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.said: Set[str] = set()  # why we would not connect, each said once on stderr
        self.board_fd = -1  # the task board, passed with every hello (-1: none)
        self.on_command: Callable[[dict], None] = lambda command: None
        self.on_tick: Callable[[], None] = lambda: None
        self._reset_state()

    def _reset_state(self) -> None:
        self.lock = _allocate_lock()
        self.sock = None
        self.proven = False  # the connection survived past the tick that opened it
        self.connected_at = 0.0
        self.seq = 0
        self.sent_total = 0      # events put on a connection
        self.packets_sent = 0
        self.dropped_total = 0
        self.connects = 0
        self.flusher_cpu_ns = 0
        self.outbox: Deque[_Packet] = deque()
        self.commands: List[bytes] = []  # read from ramflowd, not yet handled
        self.sticky: Dict[Hashable, str] = {}  # hello, phases, running task starts (no board), net_self
        self.next_attempt = 0.0
        self.backoff = MIN_BACKOFF_SECONDS
        self.last_heartbeat = _monotonic()
        self.last_alive_check = 0.0
        self.last_net_self = 0.0
        self.last_functions = 0.0
        self._stopping = False
        self._wake = _allocate_lock()
        self._wake.acquire()

    # --- called from any thread -------------------------------------------

    def post(self, body: str, sticky_key: Optional[Hashable] = None) -> None:
        """Sends one message at once (never batched). A sticky message is kept
        and re-sent on every (re)connect until `unstick`."""
        with self.lock:
            if sticky_key is not None:
                self.sticky[sticky_key] = body
            connects = self.connects
            self._connect_if_due()
            if self.sock is None:
                if sticky_key is None:
                    self._enqueue((body, 1, None))
                return  # sticky: sent on connect
            if sticky_key is not None and self.connects != connects:
                return  # this very connect just sent (or queued) it with the other sticky ones
            if not self.proven:  # only sticky messages before proof; the outbox waits
                if sticky_key is None or not self._send(body, 1, sticky_key):
                    self._enqueue((body, 1, sticky_key))
                return
            self._send_outbox()
            if self.outbox or not self._send(body, 1, sticky_key):
                self._enqueue((body, 1, sticky_key))

    def unstick(self, key: Hashable) -> None:
        with self.lock:
            self.sticky.pop(key, None)

    def post_task_start(self, body: str, key: Hashable) -> None:
        """Without a task board: sends a task start at once, sticky until the
        task ends (`unstick`), so that an OOM kill finds its task."""
        self.post(body, sticky_key=key)

    def send_task_ends(self) -> None:
        """From a task's end, a packet's worth of task ends waiting: sends them
        now if the connection is free and proven; else the flusher will. Never
        waits for the lock."""
        if not self.lock.acquire(False):
            return
        try:
            if self.sock is None or not self.proven:
                return
            self._send_outbox()
            ends, dropped = _tasks.take_ends(_tasks.SEND_EVERY)
            self.dropped_total += dropped
            for body, count in _task_end_packets(ends):
                if self.outbox or not self._send(body, count):
                    self._enqueue((body, count, None))
        finally:
            self.lock.release()

    def flush(self, functions: bool = True) -> None:
        """Packs the task ends and samples waiting, and sends what it can; with
        `functions`, also harvests the figures and sends what they gained."""
        with self.lock:
            self._connect_if_due()
            if functions:
                self.aggregate.harvest()
            self._pack_task_ends()
            self._pack_samples()
            if self.sock is not None and self.proven:
                self._send_outbox()
                if functions and not self.outbox:
                    self._send_functions()

    def mark_ready(self) -> None:
        with self.lock:
            self.aggregate.mark_ready()

    def start(self) -> None:
        self._stopping = False
        _start_new_thread(self._run, ())

    def stop(self) -> None:
        self._stopping = True
        self.wake()

    def wake(self) -> None:
        """The flusher ticks now rather than at its next interval."""
        try:
            self._wake.release()
        except RuntimeError:
            pass

    def close_for_exit(self) -> None:
        """Best effort at interpreter exit: flush, never wait long."""
        self.stop()
        if self.lock.acquire(timeout=0.5):
            try:
                if self.sock is None:
                    self.next_attempt = 0.0  # a last try, whatever the backoff says
                    self._connect_if_due()
                self.aggregate.harvest()
                self._pack_task_ends()
                self._pack_samples()
                if self.sock is not None:
                    self.proven = True  # nothing later can prove it: send what we have
                    self._send_outbox()
                    if not self.outbox:
                        self._send_functions()
                    self._post_net_self()
            finally:
                self.lock.release()

    # --- fork ----------------------------------------------------------------

    def before_fork(self) -> None:
        self.lock.acquire()

    def after_fork_in_parent(self) -> None:
        self.lock.release()

    def after_fork_in_child(self, aggregate: Aggregate) -> None:
        """The child must never write on its parent's connection, nor resend
        its parent's figures: start from nothing, with a new thread."""
        if self.sock is not None:
            try:
                self.sock.close()  # closes the child's copy only
            except OSError:
                pass
        self.aggregate = aggregate
        self._reset_state()
        self.start()

    # --- flusher thread -------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping:
            self._wake.acquire(timeout=self.flush_seconds)
            if self._stopping:
                return
            t0 = _thread_time_ns()
            try:
                self._tick()
            except Exception:  # the worker must never see our failures
                pass
            self.flusher_cpu_ns += _thread_time_ns() - t0

    def _tick(self) -> None:
        now = _monotonic()
        with self.lock:
            if self.sock is not None and not self.proven and now - self.connected_at >= PROVE_SECONDS:
                self._check_alive()
                self.proven = self.sock is not None and _unread_bytes(self.sock) == 0
        # The figures once a second: folding and sending them is the tick's costly part.
        functions = now - self.last_functions >= FUNCTIONS_SECONDS
        if functions:
            self.last_functions = now
        self.flush(functions)
        if now - self.last_heartbeat >= self.heartbeat_seconds:
            self.last_heartbeat = now
            self.post(self.heartbeat_body())
        if now - self.last_net_self >= NET_SELF_SECONDS:
            self.last_net_self = now
            with self.lock:
                self._post_net_self()
        if now - self.last_alive_check >= ALIVE_CHECK_SECONDS:
            self.last_alive_check = now
            with self.lock:
                self._check_alive()
            self.housekeeping()
        with self.lock:
            self._read_commands()
            commands, self.commands = self.commands, []
        for packet in commands:
            self._dispatch(packet)
        self.on_tick()

    def _dispatch(self, packet: bytes) -> None:
        try:
            command = json.loads(packet)
        except ValueError:
            return
        if isinstance(command, dict) and command.get("v") == PROTOCOL_VERSION:
            self.on_command(command)

    # --- under self.lock ----------------------------------------------------

    def _post_net_self(self) -> None:
        if not self.aggregate.changed_since_snapshot:
            return
        body = self.aggregate.net_self_body()
        self.sticky["net_self"] = body
        if self.sock is None:
            return  # sent on connect, with the other sticky messages
        self.outbox = deque(p for p in self.outbox if p[2] != "net_self")  # only the latest counts
        if self.proven:
            self._send_outbox()
            if not self.outbox and self._send(body, 1):
                return
        self._enqueue((body, 1, "net_self"))

    def _enqueue(self, packet: _Packet) -> None:
        if len(self.outbox) >= self.outbox_limit:
            self.dropped_total += packet[1]
            return
        self.outbox.append(packet)

    def _pack_task_ends(self) -> None:
        ends, dropped = _tasks.take_ends()
        self.dropped_total += dropped
        for body, count in _task_end_packets(ends):
            self._enqueue((body, count, None))

    def _pack_samples(self) -> None:
        samples = _tracking.SAMPLES
        if not samples:
            return
        page = _memory.PAGE_SIZE
        approx = _tracking.APPROXIMATE if _tracking.state.concurrent else 0
        labels = _tracking.LABELS
        records = []
        while samples:
            fid, t0, t1, r0, r1, children, flags = samples.popleft()
            gross = r1 - r0
            records.append(_SAMPLE % (_tracking.json_text(labels[fid][0]), _tracking.wall_seconds(t0),
                                      (t1 - t0) / 1e9, r0 * page, r1 * page, gross * page,
                                      (gross - children) * page, flags | approx))
        for i in range(0, len(records), RECORDS_PER_PACKET):
            batch = records[i:i + RECORDS_PER_PACKET]
            self._enqueue(('"type":"calls","calls":[' + ",".join(batch) + "]", len(batch), None))

    def _send_functions(self) -> None:
        for body, fids in self.aggregate.delta_packets():
            if not self._send(body, 1):
                return
            self.aggregate.delivered_now(fids)

    def _send(self, body: _Body, events: int, key: Optional[Hashable] = None) -> bool:
        try:
            if body.__class__ is bytes:
                data = b'{"v":%d,"seq":%d,%s}' % (PROTOCOL_VERSION, self.seq, body)
            else:
                # "replace": a label or task id with a lone surrogate must not wedge the queue.
                data = ('{"v":%d,"seq":%d,%s}' % (PROTOCOL_VERSION, self.seq, body)).encode("utf-8", "replace")
            if key == "hello" and self.board_fd >= 0:
                self._send_with_board(data)
            else:
                self.sock.send(data, _MSG_NOSIGNAL)
        except BlockingIOError:
            return False
        except OSError:
            self._disconnect()
            return False
        self.seq += events
        self.sent_total += events
        self.packets_sent += 1
        return True

    def _send_with_board(self, data: bytes) -> None:
        try:
            self.sock.sendmsg([data], [(_socket.SOL_SOCKET, _SCM_RIGHTS, struct.pack("i", self.board_fd))],
                              _MSG_NOSIGNAL)
        except OSError as error:
            if error.errno != errno.EBADF or _fd_open(self.sock):
                raise
            self.board_fd = -1  # closed under us (a daemonizer): the agent makes a new board
            self.sock.send(data, _MSG_NOSIGNAL)

    def _send_outbox(self) -> None:
        outbox = self.outbox
        while outbox and self.sock is not None:
            body, events, key = outbox[0]
            if not self._send(body, events, key):
                return
            outbox.popleft()

    def _connect_if_due(self) -> None:
        if self.sock is not None or _monotonic() < self.next_attempt:
            return
        why = _socket_dir.problem(self.path)
        if why is not None:
            self._say_once("ramflow: not connecting to %s: %s — fix or remove it (ramflowd creates its "
                           "directory itself) or set RAMFLOW_SOCKET" % (self.path, why))
            self._retry_later()
            return
        sock = _socket.socket(_socket.AF_UNIX, _SOCK_SEQPACKET | _SOCK_CLOEXEC)
        sock.setblocking(False)
        try:
            sock.connect(self.path)
        except OSError:
            sock.close()
            self._retry_later()
            return
        self.sock = sock
        self.proven = False
        self.connected_at = _monotonic()
        self.seq = 0
        self.connects += 1
        # Sticky messages go first, re-numbered; stale copies in the outbox go.
        rest = [p for p in self.outbox if p[2] is None or p[2] not in self.sticky]
        self.outbox = deque((body, 1, key) for key, body in self.sticky.items())
        if self.dropped_total:
            self.outbox.append((self.heartbeat_body(), 1, None))
        self._send_outbox()
        self.outbox.extend(rest)  # sent once the connection proved alive

    def _retry_later(self) -> None:
        self.next_attempt = _monotonic() + self.backoff
        self.backoff = min(self.backoff * 2, MAX_BACKOFF_SECONDS)

    def _say_once(self, text: str) -> None:
        if text not in self.said:
            self.said.add(text)
            print(text, file=sys.stderr)

    def _check_alive(self) -> None:
        self._read_commands()
        if self.sock is not None and self.proven:
            self.backoff = MIN_BACKOFF_SECONDS

    def _read_commands(self) -> None:
        """Reads what ramflowd sent (commands) until nothing waits; end of
        stream or an error closes the connection."""
        while self.sock is not None and len(self.commands) < COMMANDS_WAITING:
            try:
                packet = self.sock.recv(COMMAND_BYTES, _MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError:
                self._disconnect()
                return
            if packet == b"":
                self._disconnect()
                return
            self.commands.append(packet)

    def _disconnect(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
        self.sock = None
        self.proven = False
        self._retry_later()


def _task_end_packets(ends: List[bytes]) -> List[Tuple[bytes, int]]:
    """(body, records) of `task_ends` packets: at most SEND_EVERY records and
    PACKET_BODY_BYTES each (a record is at most ~1.7 KB: long labels)."""
    if len(ends) <= _tasks.SEND_EVERY and sum(map(len, ends)) + len(ends) <= PACKET_BODY_BYTES:
        return [(_task_ends_body(ends), len(ends))] if ends else []
    packets = []
    start, size = 0, 0
    for i, end in enumerate(ends):
        if i > start and (i - start == _tasks.SEND_EVERY or size + len(end) > PACKET_BODY_BYTES):
            packets.append((_task_ends_body(ends[start:i]), i - start))
            start, size = i, 0
        size += len(end) + 1
    if start < len(ends):
        packets.append((_task_ends_body(ends[start:]), len(ends) - start))
    return packets


def _task_ends_body(ends: List[bytes]) -> bytes:
    # The records' statm lines end with their newline, the only raw newlines
    # there are (labels are JSON: theirs are escaped): one pass drops them.
    return b'"type":"task_ends","ends":[' + b",".join(ends).replace(b"\n", b"") + b"]"


def _fd_open(sock) -> bool:
    try:
        os.fstat(sock.fileno())
    except OSError:
        return False
    return True


def _unread_bytes(sock) -> int:
    """What we sent on `sock` that the peer has not read yet (SIOCOUTQ)."""
    try:
        return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
    except OSError:
        return 0
