"""Refuse bodies past the upload limit from their Content-Length, before any byte is read.

Chunked bodies without a Content-Length are bounded by the upload route itself
(it reads at most one byte past MAX_UPLOAD_BYTES).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import error_response
from app.settings import get_settings

# Room for the multipart boundaries and the form fields around the file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


class BodySizeLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            limit = get_settings().max_upload_bytes + MULTIPART_OVERHEAD_BYTES
            length = dict(scope["headers"]).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > limit:
                response = error_response(
                    413, "payload_too_large", f"the request body is larger than {limit} bytes"
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
