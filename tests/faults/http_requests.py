"""What the fault proxy knows of HTTP: a request's head, read off a socket, and its AWS call.

boto3 and kombu's SQS client speak HTTP/1.1 without pipelining: a client sends its next request
only after the last response, so the proxy parses requests and passes responses through as bytes.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from dataclasses import dataclass

# The service is named in the signature's credential scope: .../us-east-1/s3/aws4_request.
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d+/[^/]+/([a-z0-9-]+)/aws4_request")
_S3_OPERATIONS = {
    "GET": "GetObject",
    "PUT": "PutObject",
    "HEAD": "HeadObject",
    "DELETE": "DeleteObject",
}


class LinkClosed(Exception):
    """The connection ended, or the proxy closed it, while a pump was reading."""


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str
    headers: dict[str, str]  # names lower-cased

    @property
    def service(self) -> str:
        found = _CREDENTIAL_SCOPE.search(self.headers.get("authorization", ""))
        return found.group(1) if found else ""

    @property
    def operation(self) -> str:
        """The AWS operation: SQS names it in X-Amz-Target, S3 in the method (objects only)."""
        target = self.headers.get("x-amz-target", "")
        if target:
            return target.rsplit(".", 1)[-1]
        if self.service == "s3":
            path = self.target.split("?", 1)[0].strip("/")
            if "/" in path:  # bucket/key: an object
                return _S3_OPERATIONS.get(self.method, self.method)
            return f"{self.method} bucket"
        return f"{self.method} {self.target}"

    @property
    def expects_continue(self) -> bool:
        return self.headers.get("expect", "").lower() == "100-continue"

    @property
    def content_length(self) -> int:
        return int(self.headers.get("content-length", "0") or 0)

    @property
    def chunked(self) -> bool:
        return "chunked" in self.headers.get("transfer-encoding", "").lower()


RequestMatch = Callable[[HttpRequest], bool]


def operation_is(*operations: str) -> RequestMatch:
    """A match for requests of these AWS operations (ReceiveMessage, GetObject, ...)."""
    wanted = frozenset(operations)
    return lambda request: request.operation in wanted


def parse_head(head: bytes) -> HttpRequest:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return HttpRequest(method, target, headers)


def error_response(request: HttpRequest, status: int) -> bytes:
    """What an AWS endpoint answers when it fails: SQS's JSON error or S3's XML one."""
    if request.headers.get("x-amz-target"):
        body = b'{"__type": "InternalFailure", "message": "injected by the fault proxy"}'
        content_type = "application/x-amz-json-1.0"
    else:
        body = (
            b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>InternalError</Code>"
            b"<Message>injected by the fault proxy</Message></Error>"
        )
        content_type = "application/xml"
    close = "Connection: close\r\n" if request.expects_continue else ""
    head = (
        f"HTTP/1.1 {status} Injected\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n{close}\r\n"
    )
    return head.encode("latin-1") + body


class SocketReader:
    """Buffered reads of one socket whose pump checks `alive()` between short waits."""

    def __init__(self, sock: socket.socket, alive: Callable[[], bool]) -> None:
        self.sock = sock
        self.alive = alive
        self.buffer = b""

    def fill(self) -> bytes:
        """The next bytes from the socket (also kept in the buffer's place by the caller)."""
        while True:
            if not self.alive():
                raise LinkClosed
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError as error:
                raise LinkClosed from error
            if not data:
                raise LinkClosed
            return data

    def until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            self.buffer += self.fill()
        head, self.buffer = self.buffer.split(marker, 1)
        return head + marker

    def some(self, limit: int) -> bytes:
        """Up to `limit` bytes: what is buffered, else what the socket has."""
        if not self.buffer:
            self.buffer = self.fill()
        data, self.buffer = self.buffer[:limit], self.buffer[limit:]
        return data
