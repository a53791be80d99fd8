"""The agent's side of the wire (docs/protocol.md): one non-blocking
SOCK_SEQPACKET connection, sequence numbers, sticky messages re-sent on every
(re)connect, a bounded outbox, drop counting and a background flusher.

Only `_socket` and `_thread` primitives are used: gevent and eventlet patch
`socket`, `threading` and `time`, and the flusher must stay a real OS thread
with a real socket whatever the worker patched after the agent loaded.
"""

import _socket
import _thread
import time
from collections import deque
from typing import Callable, Deque, Dict, List, Optional, Tuple

PROTOCOL_VERSION = 1
RECORDS_PER_PACKET = 32
MAX_BODY_BYTES = 16384  # well under ramflowd's 64 KiB packet limit
MIN_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0
ALIVE_CHECK_SECONDS = 1.0

_SOCK_SEQPACKET = getattr(_socket, "SOCK_SEQPACKET", 5)
_SOCK_CLOEXEC = getattr(_socket, "SOCK_CLOEXEC", 0)
_MSG_DONTWAIT = getattr(_socket, "MSG_DONTWAIT", 0x40)
_MSG_NOSIGNAL = getattr(_socket, "MSG_NOSIGNAL", 0x4000)
_monotonic = time.monotonic
# Bound at import, before a worker monkey-patches _thread (gevent does).
_allocate_lock = _thread.allocate_lock
_start_new_thread = _thread.start_new_thread

# (body without the envelope, events it numbers, records it carries, sticky key)
_Packet = Tuple[str, int, int, Optional[str]]


class Transport:
    def __init__(self, path: str, records: Deque[tuple],
                 encode_records: Callable[[List[tuple]], str],
                 heartbeat_body: Callable[[], str], housekeeping: Callable[[], None],
                 outbox_limit: int, flush_seconds: float, heartbeat_seconds: float) -> None:
        self.path = path
        self.housekeeping = housekeeping
        self.encode_records = encode_records
        self.heartbeat_body = heartbeat_body
        self.outbox_limit = outbox_limit
        self.flush_seconds = flush_seconds
        self.heartbeat_seconds = heartbeat_seconds
        # Filled by the hot path with no lock: deque.append is atomic.
        self.records = records
        self._reset_state()

    def _reset_state(self) -> None:
        self.lock = _allocate_lock()
        self.sock = None
        self.seq = 0
        self.sent_total = 0
        self.dropped_total = 0
        self.connects = 0
        self.outbox: Deque[_Packet] = deque()
        self.sticky: Dict[str, str] = {}
        self.next_attempt = 0.0
        self.backoff = MIN_BACKOFF_SECONDS
        self.last_heartbeat = _monotonic()
        self.last_alive_check = 0.0
        self._stopping = False
        self._wake = _allocate_lock()
        self._wake.acquire()

    # --- called from any thread -------------------------------------------

    def count_dropped(self, n: int = 1) -> None:
        with self.lock:
            self.dropped_total += n

    def post(self, body: str, sticky_key: Optional[str] = None) -> None:
        """Sends one message at once (never batched). A sticky message is kept
        and re-sent on every (re)connect until `unstick`."""
        with self.lock:
            if sticky_key is not None:
                self.sticky[sticky_key] = body
            connects = self.connects
            self._connect_if_due()
            if self.sock is None:
                return  # sticky: sent on connect; heartbeats are regenerated anyway
            if sticky_key is not None and self.connects != connects:
                return  # this very connect just sent (or queued) it with the other sticky ones
            self._send_outbox()
            if self.outbox or not self._send(body, 1):
                if self.sock is not None or sticky_key is None:
                    self._enqueue((body, 1, 0, sticky_key))

    def unstick(self, key: str) -> None:
        with self.lock:
            self.sticky.pop(key, None)

    def flush(self) -> None:
        """Serialises queued call records into packets and sends what it can."""
        with self.lock:
            self._connect_if_due()
            self._pack_records()
            if self.sock is not None:
                self._send_outbox()

    def start(self) -> None:
        _start_new_thread(self._run, ())

    def stop(self) -> None:
        self._stopping = True
        try:
            self._wake.release()
        except RuntimeError:
            pass

    def close_for_exit(self) -> None:
        """Best effort at interpreter exit: flush, never wait long."""
        self.stop()
        if self.lock.acquire(timeout=0.5):
            try:
                self._pack_records()
                if self.sock is not None:
                    self._send_outbox()
            finally:
                self.lock.release()

    # --- fork ----------------------------------------------------------------

    def before_fork(self) -> None:
        self.lock.acquire()

    def after_fork_in_parent(self) -> None:
        self.lock.release()

    def after_fork_in_child(self) -> None:
        """The child must never write on its parent's connection, nor resend
        its parent's records: start from nothing, with a new thread."""
        if self.sock is not None:
            try:
                self.sock.close()  # closes the child's copy only
            except OSError:
                pass
        self.records.clear()
        self._reset_state()
        self.start()

    # --- flusher thread -------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping:
            self._wake.acquire(timeout=self.flush_seconds)
            if self._stopping:
                return
            try:
                self._tick()
            except Exception:  # the worker must never see our failures
                pass

    def _tick(self) -> None:
        now = _monotonic()
        self.flush()
        if now - self.last_heartbeat >= self.heartbeat_seconds:
            self.last_heartbeat = now
            self.post(self.heartbeat_body())
        if now - self.last_alive_check >= ALIVE_CHECK_SECONDS:
            self.last_alive_check = now
            with self.lock:
                self._check_alive()
            self.housekeeping()

    # --- under self.lock ----------------------------------------------------

    def _enqueue(self, packet: _Packet) -> None:
        if len(self.outbox) >= self.outbox_limit:
            self.dropped_total += max(packet[2], 1)
            return
        self.outbox.append(packet)

    def _pack_records(self) -> None:
        records = self.records
        while records and len(self.outbox) < self.outbox_limit:
            batch = []
            while records and len(batch) < RECORDS_PER_PACKET:
                batch.append(records.popleft())
            self._pack_batch(batch)

    def _pack_batch(self, batch: List[tuple]) -> None:
        body = '"type":"calls","calls":' + self.encode_records(batch)
        if len(body) > MAX_BODY_BYTES and len(batch) > 1:
            half = len(batch) // 2
            self._pack_batch(batch[:half])
            self._pack_batch(batch[half:])
            return
        self._enqueue((body, len(batch), len(batch), None))

    def _send(self, body: str, events: int) -> bool:
        packet = '{"v":%d,"seq":%d,%s}' % (PROTOCOL_VERSION, self.seq, body)
        try:
            self.sock.send(packet.encode(), _MSG_NOSIGNAL)
        except BlockingIOError:
            return False
        except OSError:
            self._disconnect()
            return False
        self.seq += events
        self.sent_total += events
        return True

    def _send_outbox(self) -> None:
        outbox = self.outbox
        while outbox and self.sock is not None:
            body, events, _, _ = outbox[0]
            if not self._send(body, events):
                return
            outbox.popleft()

    def _connect_if_due(self) -> None:
        if self.sock is not None or _monotonic() < self.next_attempt:
            return
        sock = _socket.socket(_socket.AF_UNIX, _SOCK_SEQPACKET | _SOCK_CLOEXEC)
        sock.setblocking(False)
        try:
            sock.connect(self.path)
        except OSError:
            sock.close()
            self.next_attempt = _monotonic() + self.backoff
            self.backoff = min(self.backoff * 2, MAX_BACKOFF_SECONDS)
            return
        self.sock = sock
        self.seq = 0
        self.connects += 1
        self.backoff = MIN_BACKOFF_SECONDS
        # Sticky messages go first, re-numbered; stale copies in the outbox go.
        rest = [p for p in self.outbox if p[3] is None or p[3] not in self.sticky]
        self.outbox = deque((body, 1, 0, key) for key, body in self.sticky.items())
        self.outbox.extend(rest)
        if self.dropped_total:
            self.outbox.insert(len(self.sticky), (self.heartbeat_body(), 1, 0, None))
        self._send_outbox()

    def _check_alive(self) -> None:
        if self.sock is None:
            return
        try:
            if self.sock.recv(1, _MSG_DONTWAIT) == b"":
                self._disconnect()
        except BlockingIOError:
            pass
        except OSError:
            self._disconnect()

    def _disconnect(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
        self.sock = None
        self.next_attempt = _monotonic() + self.backoff
