"""Every request body counted while it streams, and refused past its limit.

An upload may carry MAX_UPLOAD_BYTES (plus the multipart around the file), any other body
MAX_JSON_BODY_BYTES. A Content-Length above the limit is refused before a byte is read. A body
that streams past it (chunked, or lying about its length) is cut off at the first message
that crosses the limit: the app never asks for another, so at most the limit plus one of
uvicorn's read buffers is ever read from the socket, and whatever the app was about to answer
is replaced by the 413. Its `Connection: close` has uvicorn close the connection rather than
read the rest of the body.
"""

from __future__ import annotations

import re

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_response
from app.settings import Settings, get_settings

# Room for the multipart boundaries and the form fields around the file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
_UPLOAD = re.compile(r"/books/[^/]+/images")


def has_body(scope: Scope) -> bool:
    headers = dict(scope["headers"])
    return b"transfer-encoding" in headers or headers.get(b"content-length", b"0") != b"0"


def closing(response: JSONResponse) -> JSONResponse:
    """`response` for a request whose body is left unread: with `Connection: close` uvicorn
    closes the connection once it is sent, instead of reading the rest of the body to keep
    the connection alive (it would read, and drop, all of it)."""
    response.headers["Connection"] = "close"
    return response


class BodyTooLargeError(Exception):
    """Raised into the app when its body crosses the limit; the middleware answers 413."""


def body_limit(settings: Settings, *, method: str, path: str) -> int:
    if method == "POST" and _UPLOAD.fullmatch(path):
        return settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES
    return settings.max_json_body_bytes


class BodySizeLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(get_settings(), method=scope["method"], path=scope["path"])
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        received = 0
        exceeded = False
        responded = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLargeError
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLargeError
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal responded
            if exceeded and not responded:
                return  # the app's answer to a body it never got whole (a 400 from its parser)
            responded = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not exceeded:  # BodyTooLargeError, or what the app made of it
                raise
        if exceeded and not responded:
            await _too_large(limit)(scope, receive, send)


def _too_large(limit: int) -> JSONResponse:
    return closing(
        error_response(413, "payload_too_large", f"the request body is larger than {limit} bytes")
    )
