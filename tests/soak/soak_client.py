"""One agent process of the soak test (run as a script): several connections to
ramflowd, valid events at a paced rate with malformed packets (the protocol's
own rejected corpus), sequence gaps, sequence regressions, reconnects and
heartbeats reporting agent-side drops mixed in. Every packet's effect goes to a
Ledger before and after the send, so a SIGKILL at any moment leaves an exact
account. Blocking sends: nothing is dropped in this process for real; the
"dropped" it reports is a number it claims, as a broken agent could.

    soak_client.py SOCKET LEDGER --seed N --seconds S --connections C --events-per-second R
"""
from __future__ import annotations

import argparse
import collections
import os
import random
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ledger import FUNCTION_LABELS, TASK_LABELS, Ledger, vector  # noqa: E402

CORPUS = Path(__file__).resolve().parents[1] / "unit" / "ingest" / "corpus" / "rejected"


def rejected_corpus() -> list[tuple[str, bytes]]:
    """(reason, packet) of every rejected example; the reason is the file name's prefix.
    The empty packet is left out: it reads as end of stream and closes the connection."""
    out = []
    for path in sorted(CORPUS.glob("*.json")):
        packet = path.read_bytes()
        if packet:
            out.append((path.name.split(".")[0], packet))
    if not out:
        raise SystemExit(f"no rejected examples in {CORPUS}")
    return out


class Client:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.ledger = Ledger(Path(args.ledger), create=True)
        self.rejected = rejected_corpus()
        self.dropped_claimed = 0  # process total, as the agent's heartbeat reports it
        self.valid_sent = 0
        self.t0 = time.time()
        self.records = [self._record(label, "function", None) for label in FUNCTION_LABELS] + [
            self._record(label, "task", f'"{label}-id"') for label in TASK_LABELS
        ]
        self.connections: list[list] = []  # [socket, next seq]

    def _record(self, label: str, kind: str, task_id: str | None) -> tuple[str, str]:
        extra = "7,4096,8192" if kind == "task" else "null,null,null"
        text = (f'["{label}","{kind}",{task_id or "null"},{self.t0:.3f},0.004,50000000,50004096,4096,'
                f'{"-4096" if label.endswith("1") else "4096"},0,{extra}]')
        return f"calls:{label}:{kind}", text

    def send(self, connection: list, packet: str | bytes, effect: dict[str, int]) -> None:
        self.ledger.begin(vector(effect))
        connection[0].send(packet if isinstance(packet, bytes) else packet.encode())
        self.ledger.commit()

    def connect(self) -> list:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.connect(self.args.socket)
        connection = [sock, 1]
        hello = ('{"v":1,"seq":0,"type":"hello","agent":"soak","python":"3","framework":"none","pool":"none",'
                 f'"worker":"soak-{self.args.seed}","index":null,"pid":{os.getpid()}}}')
        self.send(connection, hello, {"accepted:hello": 1})
        self.valid_sent += 1
        return connection

    def valid(self, connection: list, skip: int) -> int:
        """One valid message numbered `skip` past the expected seq; returns its event count."""
        seq = connection[1] + skip
        effect = {"dropped:gap": skip} if skip else {}
        roll = self.rng.random()
        now = time.time()
        if roll < 0.10:  # protocol 2: per-function deltas (counted) and a net-self table (not counted)
            rows = [self.rng.choice(self.records)[0].split(":")[1:] for _ in range(self.rng.randint(1, 40))]
            counts = collections.Counter()
            text = []
            for label, kind in rows:
                n = self.rng.randint(1, 1000)
                counts[f"calls:{label}:{kind}"] += n
                text.append(f'["{label}","{kind}",{n},{n // 2},0,0.5,8192,4096,4096,0,4096,false]')
            if self.rng.random() < 0.2:
                packet = f'{{"v":2,"seq":{seq},"type":"net_self","since":"ready","rows":[{",".join(text[:64])}]}}'
                effect["accepted:net_self"] = 1
            else:
                packet = f'{{"v":2,"seq":{seq},"type":"functions","rows":[{",".join(text)}]}}'
                effect.update(counts)
                effect["accepted:functions"] = 1
            n = 1
        elif roll < 0.75:
            picked = self.rng.choices(self.records, k=self.rng.randint(1, 128))
            packet = f'{{"v":1,"seq":{seq},"type":"calls","calls":[{",".join(r for _, r in picked)}]}}'
            counts = collections.Counter(key for key, _ in picked)
            effect.update(counts)
            effect["accepted:call"] = n = len(picked)
        elif roll < 0.9:
            name = self.rng.choice(TASK_LABELS)
            packet = f'{{"v":1,"seq":{seq},"type":"task_start","name":"{name}","id":"{name}-id","t":{now:.3f},"rss":50000000}}'
            effect["accepted:task_start"] = n = 1
        else:
            claimed = self.rng.choice((0, 0, 1, 3, 17))
            self.dropped_claimed += claimed
            packet = (f'{{"v":1,"seq":{seq},"type":"heartbeat","t":{now:.3f},"rss":50000000,'
                      f'"dropped":{self.dropped_claimed},"sent":{self.valid_sent}}}')
            # The daemon keeps the highest total per process: this packet adds what it raises.
            effect["dropped:agent"] = claimed
            effect["accepted:heartbeat"] = n = 1
        self.send(connection, packet, effect)
        connection[1] = seq + n
        self.valid_sent += n
        return n

    def step(self) -> int:
        connection = self.rng.choice(self.connections)
        roll = self.rng.random()
        if roll < 0.05:
            reason, packet = self.rng.choice(self.rejected)
            self.send(connection, packet, {f"rejected:{reason}": 1})
            return 0
        if roll < 0.06:  # a sequence regression: a valid heartbeat numbered in the past
            packet = (f'{{"v":1,"seq":{connection[1] - 1},"type":"heartbeat","t":{time.time():.3f},"rss":1,'
                      f'"dropped":{self.dropped_claimed},"sent":0}}')
            self.send(connection, packet, {"rejected:out_of_order": 1})
            return 0
        if roll < 0.07:  # close and reopen: the new connection numbers from 0 again
            connection[0].close()
            self.connections[self.connections.index(connection)] = self.connect()
            return 1
        skip = self.rng.randint(1, 5) if roll < 0.12 else 0
        return self.valid(connection, skip)

    def run(self) -> None:
        self.connections = [self.connect() for _ in range(self.args.connections)]
        start = time.monotonic()
        end = start + self.args.seconds
        events = 0
        while (now := time.monotonic()) < end:
            events += self.step()
            ahead = events / self.args.events_per_second - (now - start)
            if ahead > 0.002:
                time.sleep(ahead)
        for sock, _ in self.connections:
            sock.close()
        self.ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("socket")
    parser.add_argument("ledger")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--events-per-second", type=float, default=20000)
    parser.add_argument("--nice", type=int, default=0)
    args = parser.parse_args()
    if args.nice:
        os.nice(args.nice)
    Client(args).run()


if __name__ == "__main__":
    main()
