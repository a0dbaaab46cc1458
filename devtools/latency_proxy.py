"""A delaying HTTP proxy on loopback: the emulated S3 and SQS with a cloud's round trip.

moto_server answers in a millisecond from the same machine; AWS answers from across a network.
`LatencyProxy` sits in front of it, one per service (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_SQS),
and on every connection:

- holds the first byte of each HTTP response for `delay_s` (one wait per request, however many
  chunks follow: S3's first-byte latency, SQS's request latency); an interim `100 Continue`
  passes at once, so a PUT that asks for one still waits once;
- paces the bytes in both directions at `bytes_per_s` per connection.

Requests are told apart by turn-taking, which is how boto3 and kombu speak HTTP/1.1 (one request
in flight per connection, never pipelined): the client's first bytes after a final response
start the next request. A long poll (ReceiveMessage waiting up to 10 s) is one request: the
delay follows moto's own wait.

The presets cite AWS's published figures (docs/performance.md, "Throughput with latency").
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Latency:
    """What a proxy adds: `delay_s` per request, and at most `bytes_per_s` per connection."""

    delay_s: float
    bytes_per_s: float | None = None


# One region, from AWS's own documents (quoted in docs/performance.md, "Throughput with latency"):
# S3 "consistent small object latencies (and first-byte-out latencies for larger objects) of
# roughly 100-200 milliseconds" (S3 user guide, optimizing performance) and "one concurrent
# request for each 85-90 MB/s" (S3 performance guidelines), taken as one connection's rate.
# SQS: "typical latencies for SendMessage, ReceiveMessage, and DeleteMessage API requests are in
# the tens or low hundreds of milliseconds" (SQS FAQ); "if the latency from an Amazon EC2-based
# client to Amazon SQS in the same region averages 20 ms" (SQS developer guide). `aws` takes the
# low end of each, `aws-slow` the high end. AWS publishes no SQS transfer rate: the S3 figure
# stands in, and a task message of ~1 KB makes it immaterial.
AWS_BYTES_PER_S = 85e6
PRESETS: dict[str, dict[str, Latency]] = {
    "aws": {
        "s3": Latency(delay_s=0.100, bytes_per_s=AWS_BYTES_PER_S),
        "sqs": Latency(delay_s=0.020, bytes_per_s=AWS_BYTES_PER_S),
    },
    "aws-slow": {
        "s3": Latency(delay_s=0.200, bytes_per_s=AWS_BYTES_PER_S),
        "sqs": Latency(delay_s=0.100, bytes_per_s=AWS_BYTES_PER_S),
    },
}


@dataclass(eq=False)
class _Link:
    """One client connection and its upstream one, and whose turn it is."""

    client: socket.socket
    upstream: socket.socket
    awaiting_response: bool = False
    closed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for sock in (self.client, self.upstream):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class LatencyProxy:
    """Listens on 127.0.0.1 (a free port) and forwards to 127.0.0.1:`upstream_port`."""

    def __init__(self, upstream_port: int, latency: Latency) -> None:
        self.upstream_port = upstream_port
        self.latency = latency
        self.requests = 0  # requests that met the delay (interim responses not counted)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._links: set[_Link] = set()
        self._lock = threading.Lock()
        self._running = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LatencyProxy:
        self._running = True
        threading.Thread(target=self._accept, daemon=True, name=f"proxy-{self.port}").start()
        return self

    def stop(self) -> None:
        self._running = False
        with suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept loop
        self._listener.close()
        with self._lock:
            links, self._links = list(self._links), set()
        for link in links:
            link.close()

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _accept(self) -> None:
        while self._running:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(client, upstream)
            with self._lock:
                self._links.add(link)
            threading.Thread(target=self._requests, args=(link,), daemon=True).start()
            threading.Thread(target=self._responses, args=(link,), daemon=True).start()

    def _requests(self, link: _Link) -> None:
        """Client to server: the client's turn starts a request."""
        try:
            while data := link.client.recv(CHUNK):
                link.awaiting_response = True
                self._pace(data)
                link.upstream.sendall(data)
        except OSError:
            pass
        self._drop(link)

    def _responses(self, link: _Link) -> None:
        """Server to client: the first byte of each final response waits `delay_s`."""
        try:
            while data := link.upstream.recv(CHUNK):
                if link.awaiting_response and not _interim(data):
                    time.sleep(self.latency.delay_s)
                    with self._lock:
                        self.requests += 1
                    # Turned before the bytes go out: the client's next request starts a turn.
                    link.awaiting_response = False
                self._pace(data)
                link.client.sendall(data)
        except OSError:
            pass
        self._drop(link)

    def _pace(self, data: bytes) -> None:
        if self.latency.bytes_per_s:
            time.sleep(len(data) / self.latency.bytes_per_s)

    def _drop(self, link: _Link) -> None:
        link.close()
        with self._lock:
            self._links.discard(link)


def _interim(data: bytes) -> bool:
    """An informational response (`HTTP/1.1 100 Continue`): the final one is still to come."""
    return data.startswith(b"HTTP/1.") and data[9:10] == b"1"
