"""Measure a Redis-compatible server binary as the embedded events bus would use it.

    python -m devtools.embedded_stack.bus_check [--server PATH] [--starts 5]

For each start: the time from exec to the first PONG, and the server's resident memory then.
Once: what kombu's Redis transport needs of the server (docs/monitoring.md, "The embedded
events bus") -- a PUBLISH reaching a SUBSCRIBE (Celery events and remote control are fanout
exchanges, which kombu maps to pub/sub), a BRPOP woken by an LPUSH from another connection (how
kombu consumes a queue, and so the replies of `celery inspect`), and a kombu round trip over both.
Prints one JSON object. Every server it starts is stopped by PID before it returns.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil
import redis
from kombu import Connection, Exchange, Queue
from kombu.message import Message
from redis.backoff import NoBackoff
from redis.retry import Retry

from devtools.embedded_stack.events_bus import embedded_server_binary, server_command
from devtools.embedded_stack.processes import free_port, stop_process_group

CONNECT_TIMEOUT_S = 2
START_TIMEOUT_S = 10


@contextmanager
def started(server: Path, data_dir: Path) -> Iterator[tuple[int, float, float]]:
    """The server on a free port: (port, seconds from exec to PONG, resident MiB at PONG)."""
    port = free_port()
    began = time.perf_counter()
    process = subprocess.Popen(
        server_command(server, port=port, data_dir=data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        client = redis.Redis(
            port=port, socket_connect_timeout=CONNECT_TIMEOUT_S, retry=Retry(NoBackoff(), 0)
        )
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.perf_counter() - began > START_TIMEOUT_S or process.poll() is not None:
                    raise
                time.sleep(0.001)
        seconds = time.perf_counter() - began
        resident = psutil.Process(process.pid).memory_info().rss / 2**20
        client.close()
        yield port, seconds, resident
    finally:
        stop_process_group(process, timeout=10)


def pubsub_delivers(port: int) -> bool:
    client = redis.Redis(port=port, socket_timeout=CONNECT_TIMEOUT_S)
    subscriber = client.pubsub()
    subscriber.subscribe("bus-check")
    subscriber.get_message(timeout=1)  # the subscribe confirmation
    client.publish("bus-check", b"event")
    message = subscriber.get_message(ignore_subscribe_messages=True, timeout=2)
    subscriber.close()
    client.close()
    return message is not None and message["data"] == b"event"


def brpop_wakes(port: int) -> bool:
    """A BRPOP blocked on an empty list returns the item another connection pushes."""
    pusher = threading.Timer(0.3, lambda: redis.Redis(port=port).lpush("bus-check-list", b"x"))
    pusher.start()
    popped = redis.Redis(port=port, socket_timeout=5).brpop(["bus-check-list"], timeout=3)
    pusher.join()
    return popped == (b"bus-check-list", b"x")


def kombu_round_trip(port: int) -> bool:
    """A fanout message (pub/sub underneath) and a direct one (LPUSH/BRPOP), through kombu."""
    url = f"redis://127.0.0.1:{port}/0"
    fanout = Queue("bus-check-fanout", Exchange("bus-check.fanout", type="fanout"))
    direct = Queue("bus-check-direct", Exchange("bus-check.direct"), routing_key="direct")
    received: list[str] = []
    connection = Connection(url, connect_timeout=CONNECT_TIMEOUT_S)
    consumer = connection.Consumer([fanout, direct], callbacks=[_keep(received)], no_ack=True)
    with connection, consumer:
        # kombu subscribes a fanout queue's channel on the first poll, and pub/sub keeps
        # nothing for a subscriber yet to come: poll once, as a running consumer has.
        with suppress(TimeoutError):
            connection.drain_events(timeout=0.5)
        producer = connection.Producer()
        producer.publish("fanned", exchange=fanout.exchange, declare=[fanout])
        producer.publish("direct", exchange=direct.exchange, routing_key="direct", declare=[direct])
        deadline = time.monotonic() + 5
        while len(received) < 2 and time.monotonic() < deadline:
            with suppress(TimeoutError):
                connection.drain_events(timeout=1)
    return sorted(received) == ["direct", "fanned"]


def _keep(received: list[str]) -> Callable[[str, Message], None]:
    return lambda body, message: received.append(body)


def measure(server: Path, starts: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bus-check-") as data_dir:
        timings, resident = [], []
        for _ in range(starts):
            with started(server, Path(data_dir)) as (_, seconds, mib):
                timings.append(seconds)
                resident.append(mib)
        with started(server, Path(data_dir)) as (port, _, _):
            checks = {
                "pubsub": pubsub_delivers(port),
                "brpop": brpop_wakes(port),
                "kombu_fanout_and_direct": kombu_round_trip(port),
            }
    version = subprocess.run(
        [str(server), "--version"], capture_output=True, text=True, timeout=10, check=True
    ).stdout.strip()
    return {
        "server": str(server),
        "version": version,
        "binary_mib": round(server.stat().st_size / 2**20, 1),
        "start_to_pong_ms_median": round(statistics.median(timings) * 1000, 1),
        "start_to_pong_ms_max": round(max(timings) * 1000, 1),
        "resident_mib_median": round(statistics.median(resident), 1),
        **checks,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.embedded_stack.bus_check")
    parser.add_argument("--server", type=Path, default=None, help="default: the embedded one")
    parser.add_argument("--starts", type=int, default=5)
    arguments = parser.parse_args(argv)
    server = arguments.server or embedded_server_binary()
    result = measure(server, arguments.starts)
    print(json.dumps(result))
    return (
        0 if all(result[check] for check in ("pubsub", "brpop", "kombu_fanout_and_direct")) else 1
    )


if __name__ == "__main__":
    raise SystemExit(main())
