"""Who may call what: the API key, checked before a byte of the body is read.

Outside ENVIRONMENT=local every route needs `X-API-Key` except liveness and readiness, which
the load balancer and ECS call without one; PUBLIC_CATALOGUE_READS opens the catalogue's reads
(a book and its images) and nothing else. The review page (/review) takes the same key as the
password of HTTP Basic too: a browser cannot send a custom header, but sends Basic credentials
by itself once asked (WWW-Authenticate), and they stay out of URLs, history and access logs.
The gate is ASGI middleware, ahead of FastAPI's body parsing: an unauthenticated upload is
refused on its headers, not after it was spooled.
In local the routes' own dependency (app/api/deps.py) still asks writes for the key when one
is configured; reads, the docs and deep health are open there.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import error_response
from app.limits import closing, has_body
from app.settings import Settings, get_settings

API_KEY_HEADER = "X-API-Key"
ALWAYS_OPEN = frozenset({"/health", "/health/ready"})
# The review page and its form: the key is also accepted as the password of HTTP Basic.
REVIEW_PATH = "/review"
_CATALOGUE_READ = re.compile(r"/books/[^/]+")
_READ_METHODS = frozenset({"GET", "HEAD"})


def configured_api_key(settings: Settings) -> str | None:
    """API_KEY, or None when unset or empty."""
    return settings.api_key.get_secret_value() if settings.api_key else None


def key_matches(expected: str, given: str | None) -> bool:
    """Compared in constant time: a wrong key's answer takes as long as a nearly right one's."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def needs_key(settings: Settings, *, method: str, path: str) -> bool:
    """Must a request for `method path` carry the key before the app sees it?"""
    if settings.environment == "local" or path in ALWAYS_OPEN:
        return False
    is_catalogue_read = method in _READ_METHODS and _CATALOGUE_READ.fullmatch(path) is not None
    return not (settings.public_catalogue_reads and is_catalogue_read)


class ApiKeyGate:
    """401 for a request without the right key, answered from its headers alone."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            settings = get_settings()
            if needs_key(settings, method=scope["method"], path=scope["path"]):
                refusal = _refusal(settings, scope)
                if refusal is not None:
                    # The body is never read; the connection goes with it.
                    await (closing(refusal) if has_body(scope) else refusal)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def basic_password(scope: Scope) -> str | None:
    """The password of an `Authorization: Basic` header (any user name), if there is one."""
    given = _header(scope, b"authorization")
    scheme, _, encoded = (given or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2]


def _header(scope: Scope, name: bytes) -> str | None:
    given = next((value for key, value in scope["headers"] if key == name), None)
    return given.decode("latin-1") if given is not None else None


def _refusal(settings: Settings, scope: Scope) -> JSONResponse | None:
    expected = configured_api_key(settings)
    if expected is None:
        return error_response(401, "api_key_not_configured", "the API has no API_KEY configured")
    if key_matches(expected, _header(scope, API_KEY_HEADER.lower().encode())):
        return None
    if scope["path"] == REVIEW_PATH or scope["path"].startswith(REVIEW_PATH + "/"):
        # A browser cannot send X-API-Key; asked this way, it sends the key as a password.
        if key_matches(expected, basic_password(scope)):
            return None
        refusal = error_response(
            401, "invalid_credentials", "the review page takes the API key as a Basic password"
        )
        refusal.headers["WWW-Authenticate"] = 'Basic realm="image-processor review"'
        return refusal
    return error_response(401, "invalid_api_key", f"missing or wrong {API_KEY_HEADER} header")
