"""Headers every response carries: no MIME sniffing, no caching of job state, HSTS behind TLS.

TLS ends at the load balancer, which says so in X-Forwarded-Proto; HSTS is sent only then
(a browser ignores it over plain HTTP, and a local stack must stay reachable over it).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A year, subdomains included: what the HSTS preload list asks for.
HSTS = "max-age=31536000; includeSubDomains"


def _behind_tls(scope: Scope) -> bool:
    if scope.get("scheme") == "https":
        return True
    forwarded: bytes = dict(scope["headers"]).get(b"x-forwarded-proto", b"")
    return forwarded.split(b",")[0].strip().lower() == b"https"


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tls = _behind_tls(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                # Jobs change state from one second to the next; nothing here may be cached.
                headers.setdefault("Cache-Control", "no-store")
                if tls:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
