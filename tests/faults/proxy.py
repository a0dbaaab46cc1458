"""A fault-injecting TCP proxy between the processes under test and a real server.

One proxy per dependency (SQS, S3, Postgres, the Redis bus), each on a loopback port of its own,
so a fault hits one dependency the way it would in production:

- `refuse`: nothing listens (connect fails at once); open connections are reset.
- `reset`: new connections are accepted and reset; open ones are reset.
- `hang`: new connections are accepted and never answered; open ones go silent for good, even
  after the fault is healed (their clients must give up on them).
- `http_error`: every request is answered with a 5xx of the service's kind, never forwarded.
- `slow`: each request (HTTP) or chunk (TCP) waits `delay_s`, responses trickle at `bytes_per_s`.

On an HTTP proxy a fault can `match` only some requests (one AWS operation, say), and `when`
runs an action at the first request that matches: the moment a job reads its photo, another
proxy's fault begins. Nothing here imitates an effect: the clients meet real refused, reset,
silent and slow sockets and real error responses.
"""

from __future__ import annotations

import enum
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from tests.faults.http_requests import (
    HttpRequest,
    LinkClosed,
    RequestMatch,
    SocketReader,
    error_response,
    parse_head,
)
from tests.servers import free_port

_LINGER_ZERO = struct.pack("ii", 1, 0)  # close() then sends RST, not FIN
POLL_S = 0.2  # how often a pump looks at its link's state between reads


class FaultKind(enum.StrEnum):
    refuse = "refuse"
    reset = "reset"
    hang = "hang"
    http_error = "http_error"
    slow = "slow"


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    match: RequestMatch | None = None  # HTTP proxies: the requests it applies to; None: all
    status: int = 503
    delay_s: float = 0.0
    bytes_per_s: float | None = None

    def applies_to(self, request: HttpRequest | None) -> bool:
        return self.match is None or (request is not None and self.match(request))

    def __str__(self) -> str:
        return self.kind.value + (" (some requests)" if self.match else "")


@dataclass
class _Trigger:
    match: RequestMatch
    action: Callable[[HttpRequest], None]
    fired: bool = False


@dataclass(eq=False)
class _Link:
    """One client connection and, unless the fault swallowed it, its upstream connection."""

    client: socket.socket
    upstream: socket.socket | None
    silent: bool = False
    closed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def alive(self) -> bool:
        return not self.closed

    def reset(self) -> None:
        """RST both ends at once (SO_LINGER 0), the way a crashed peer or a middlebox does."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            for sock in (self.client, self.upstream):
                if sock is not None:
                    with suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
                    sock.close()

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
            for sock in (self.client, self.upstream):
                if sock is not None:
                    with suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    sock.close()


class FaultProxy:
    """Listens on 127.0.0.1:`port` and forwards to 127.0.0.1:`upstream_port`."""

    def __init__(self, upstream_port: int, *, name: str, http: bool = False) -> None:
        self.name = name
        self.upstream_port = upstream_port
        self.http = http
        self.port = free_port()
        self.fault: Fault | None = None
        # (seconds since start, what happened): requests forwarded or faulted, links made.
        self.log: list[tuple[float, str]] = []
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._links: set[_Link] = set()
        self._triggers: list[_Trigger] = []
        self._listener: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- control ------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._listen()
        return self

    def stop(self) -> None:
        self._close_listener()
        with self._lock:
            links, self._links = list(self._links), set()
        for link in links:
            link.close()

    def inject(self, fault: Fault) -> None:
        """From now on, until `heal`; open connections meet it at once where it says so."""
        with self._lock:
            previous, self.fault = self.fault, fault
            links = list(self._links)
        self._note(f"inject {fault}")
        if fault.kind is FaultKind.refuse:
            self._close_listener()
        elif previous is not None and previous.kind is FaultKind.refuse:
            self._listen()
        if fault.match is None:
            for link in links:
                if fault.kind in (FaultKind.refuse, FaultKind.reset):
                    link.reset()
                elif fault.kind is FaultKind.hang:
                    link.silent = True

    def heal(self) -> None:
        """No fault from now on. Connections the fault silenced stay silent."""
        with self._lock:
            fault, self.fault = self.fault, None
        self._note("heal")
        if fault is not None and fault.kind is FaultKind.refuse:
            self._listen()

    @contextmanager
    def injected(self, fault: Fault) -> Iterator[FaultProxy]:
        self.inject(fault)
        try:
            yield self
        finally:
            self.heal()

    def when(self, match: RequestMatch, action: Callable[[HttpRequest], None]) -> None:
        """Run `action` once, at the first request that matches (before its fault is decided)."""
        with self._lock:
            self._triggers.append(_Trigger(match, action))

    def entries(self, text: str) -> list[tuple[float, str]]:
        with self._lock:
            return [entry for entry in self.log if text in entry[1]]

    # --- listening ----------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for attempt in range(50):  # the port may linger a moment after a refusal
            try:
                listener.bind(("127.0.0.1", self.port))
                break
            except OSError:
                if attempt == 49:
                    raise
                time.sleep(0.1)
        listener.listen(128)
        listener.settimeout(POLL_S)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(POLL_S)
        fault = self.fault
        link = _Link(client, None)
        with self._lock:
            self._links.add(link)
        if fault is not None and fault.match is None and fault.kind is FaultKind.reset:
            self._note("connection reset")
            link.reset()
            return
        if fault is not None and fault.match is None and fault.kind is FaultKind.hang:
            self._note("connection hung")
            link.silent = True
            self._swallow(link)
            return
        try:
            link.upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
        except OSError:
            link.reset()
            return
        link.upstream.settimeout(POLL_S)
        back = threading.Thread(target=self._pump_bytes, args=(link,), kwargs={"back": True})
        back.daemon = True
        back.start()
        if self.http:
            self._pump_requests(link)
        else:
            self._pump_bytes(link)

    # --- pumps --------------------------------------------------------------------------

    def _swallow(self, link: _Link) -> None:
        reader = SocketReader(link.client, link.alive)
        with suppress(LinkClosed):
            while True:
                reader.fill()

    def _pump_bytes(self, link: _Link, *, back: bool = False) -> None:
        """Bytes as they come, unless the link is silent or slowed: client to server (raw
        proxies: Postgres, Redis), or server to client (`back`, every proxy)."""
        assert link.upstream is not None
        source, sink = (link.upstream, link.client) if back else (link.client, link.upstream)
        reader = SocketReader(source, link.alive)
        try:
            while True:
                self._pace(link, reader.fill(), toward=sink)
        except LinkClosed:
            link.close()

    def _pace(self, link: _Link, data: bytes, *, toward: socket.socket) -> None:
        if link.silent:
            return
        fault = self.fault
        if fault is not None and fault.kind is FaultKind.slow and fault.match is None:
            if not self.http:  # HTTP requests wait their delay once, in _apply
                time.sleep(fault.delay_s)
            if fault.bytes_per_s:
                time.sleep(len(data) / fault.bytes_per_s)
        if link.silent or link.closed:
            return
        try:
            toward.sendall(data)
        except OSError as error:
            raise LinkClosed from error

    def _pump_requests(self, link: _Link) -> None:
        """Client to server, a request at a time: each meets the fault or is forwarded."""
        assert link.upstream is not None
        reader = SocketReader(link.client, link.alive)
        try:
            while not link.silent:
                head = reader.until(b"\r\n\r\n")
                request = parse_head(head)
                self._fire_triggers(request)
                fault = self.fault
                if fault is not None and fault.applies_to(request):
                    if not self._apply(fault, link, request, reader):
                        return
                    if fault.kind is not FaultKind.slow:
                        continue
                else:
                    self._note(f"forwarded {request.operation}")
                link.upstream.sendall(head)
                self._forward_body(request, reader, link.upstream)
            with suppress(LinkClosed):
                while True:
                    reader.fill()
        except (LinkClosed, OSError, ValueError):
            link.close()

    def _apply(self, fault: Fault, link: _Link, request: HttpRequest, reader: SocketReader) -> bool:
        """Meet `request` with `fault`; False when the link is gone."""
        self._note(f"{fault.kind.value} {request.operation}")
        if fault.kind in (FaultKind.reset, FaultKind.refuse):
            link.reset()
            return False
        if fault.kind is FaultKind.hang:
            link.silent = True
            return True
        if fault.kind is FaultKind.slow:
            time.sleep(fault.delay_s)
            return True
        # http_error: the body is read first unless the client waits for 100-continue.
        if not request.expects_continue:
            self._forward_body(request, reader, None)
        link.client.sendall(error_response(request, fault.status))
        if request.expects_continue:
            link.close()
            return False
        return True

    def _forward_body(
        self, request: HttpRequest, reader: SocketReader, upstream: socket.socket | None
    ) -> None:
        """The request's body to `upstream` (None: read and dropped), streamed as it comes."""

        def send(data: bytes) -> None:
            if upstream is not None:
                upstream.sendall(data)

        if request.chunked:
            while True:
                size_line = reader.until(b"\r\n")
                send(size_line)
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while (trailer := reader.until(b"\r\n")) != b"\r\n":
                        send(trailer)
                    send(b"\r\n")
                    return
                self._copy(reader, size + 2, send)
            return
        self._copy(reader, request.content_length, send)

    @staticmethod
    def _copy(reader: SocketReader, count: int, send: Callable[[bytes], None]) -> None:
        while count > 0:
            data = reader.some(count)
            count -= len(data)
            send(data)

    def _fire_triggers(self, request: HttpRequest) -> None:
        with self._lock:
            due = [t for t in self._triggers if not t.fired and t.match(request)]
            for trigger in due:
                trigger.fired = True
        for trigger in due:
            self._note(f"trigger at {request.operation}")
            trigger.action(request)

    def _note(self, what: str) -> None:
        with self._lock:
            self.log.append((round(time.monotonic() - self._started, 3), what))
