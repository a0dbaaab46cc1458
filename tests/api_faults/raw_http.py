"""A hostile client on a raw socket: a body streamed chunked for as long as the server takes
it, and what the server read of it, from the kernel's count on the server's own socket.

`ss` reports, for the API's end of the connection, the bytes TCP received and the bytes still
waiting in its receive queue; their difference is what the API read. Sampled at every turn of
the sender, its largest value is the most the API was seen to read of the request (a read in
the last moment before the server closed could go unseen: the figure is a lower bound, and
before the fix it was the whole body).
"""

from __future__ import annotations

import re
import select
import socket
import subprocess
import time
from dataclasses import dataclass

CHUNK = 64 * 1024
_RECV_Q = re.compile(r"^\S+\s+(\d+)\s+\d+\s", re.MULTILINE)
_BYTES_RECEIVED = re.compile(r"bytes_received:(\d+)")


@dataclass(frozen=True)
class Streamed:
    status: int | None  # None: the connection ended with no answer
    answer: bytes
    sent: int  # body bytes the client got into its socket
    server_read: int  # the most the server's process had read of the request
    seconds: float


def server_read(server_port: int, client_port: int) -> int | None:
    """What the server process has read from this connection, or None once it is gone."""
    output = subprocess.run(
        [
            "ss",
            "-tinH",
            f"( sport = :{server_port} and dport = :{client_port} )",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout
    queued, received = _RECV_Q.search(output), _BYTES_RECEIVED.search(output)
    if queued is None:
        return None
    return (int(received.group(1)) if received else 0) - int(queued.group(1))


def stream_chunked(
    port: int,
    path: str,
    *,
    headers: dict[str, str],
    preamble: bytes,
    total: int,
    timeout: float = 60,
) -> Streamed:
    """POST `preamble` then zeros, `total` bytes in all, chunked; stop at the answer."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    started = time.monotonic()
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    client_port = connection.getsockname()[1]
    connection.setblocking(False)
    pending, sent, most_read, answer = bytearray(head.encode()), 0, 0, b""
    body_left = total
    first = preamble
    try:
        while time.monotonic() - started < timeout:
            if not pending and body_left > 0:
                piece = first or bytes(min(CHUNK, body_left))
                first = b""
                body_left -= len(piece)
                pending += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
                if body_left <= 0:
                    pending += b"0\r\n\r\n"
            readable, writable, _ = select.select(
                [connection], [connection] if pending else [], [], 0.05
            )
            # Every turn: the client waits on the count, so the server's reads are all seen.
            most_read = max(most_read, server_read(port, client_port) or 0)
            if readable:
                try:
                    data = connection.recv(65536)
                except (ConnectionResetError, BrokenPipeError):
                    break
                answer += data
                if not data or b"\r\n\r\n" in answer:
                    most_read = max(most_read, server_read(port, client_port) or 0)
                    answer += _what_is_left(connection)
                    break
            if writable and pending:
                try:
                    count = connection.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    answer += _what_is_left(connection)  # the answer may have come first
                    break
                sent += count
                del pending[:count]
        read = server_read(port, client_port)
        most_read = max(most_read, read or 0)
    finally:
        connection.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None
    return Streamed(status, answer, sent, most_read, time.monotonic() - started)


def _what_is_left(connection: socket.socket) -> bytes:
    """What the server sent before it closed: still readable after a reset on Linux."""
    connection.setblocking(True)
    connection.settimeout(2)
    data = b""
    while True:
        try:
            piece = connection.recv(65536)
        except OSError:
            return data
        if not piece:
            return data
        data += piece


def ask_with_length(port: int, path: str, *, headers: dict[str, str], length: int) -> bytes:
    """Send a request's head declaring `length` bytes of body, none of them; the answer."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head.encode())
        return _what_is_left(connection)


def multipart_preamble(boundary: str) -> bytes:
    return (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="huge.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode() + b"\xff\xd8\xff\xe0"
