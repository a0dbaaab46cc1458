"""Dependencies shared by the routers, as Annotated aliases so route signatures stay short.

FastAPI runs a plain `def` dependency on its thread pool: one hand-over per dependency and
request, two for one that yields. The ones here that do not block are `async def` and run on
the event loop instead: under load every hand-over costs CPU (docs/performance.md, "Load").
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Security
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.access import API_KEY_HEADER, configured_api_key, key_matches
from app.db import get_sessionmaker
from app.errors import ApiError
from app.settings import Settings, get_settings
from app.storage import Storage, get_listings_storage, get_storage

# Postgres INTEGER: larger ids cannot exist, and must be a 422, not a database error.
MAX_ID = 2_147_483_647


async def _session() -> AsyncIterator[Session]:
    """A session for the request. Making one opens no connection (that happens on first use,
    in the route's thread); closing one that still holds a connection rolls it back over the
    network, so only that close goes to the thread pool."""
    session = get_sessionmaker()()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


async def _settings() -> Settings:
    return get_settings()


SessionDep = Annotated[Session, Depends(_session)]
SettingsDep = Annotated[Settings, Depends(_settings)]
StorageDep = Annotated[Storage, Depends(get_storage)]
ListingsStorageDep = Annotated[Storage, Depends(get_listings_storage)]
BookId = Annotated[int, Path(ge=1, le=MAX_ID)]
ImageId = Annotated[int, Path(ge=1, le=MAX_ID)]

_api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


async def require_api_key(
    settings: SettingsDep, api_key: Annotated[str | None, Security(_api_key_header)]
) -> None:
    """401 unless X-API-Key matches API_KEY; open only in local without a key. Outside local
    app/access.py's gate has checked it already, before the body; this documents the key in
    OpenAPI and guards writes in local when a key is configured."""
    expected = configured_api_key(settings)
    if expected is None:
        if settings.environment == "local":
            return
        raise ApiError(401, "api_key_not_configured", "the API has no API_KEY configured")
    if not key_matches(expected, api_key):
        raise ApiError(401, "invalid_api_key", "missing or wrong X-API-Key header")


ApiKeyRequired = Depends(require_api_key)
