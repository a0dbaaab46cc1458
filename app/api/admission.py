"""Uploads in progress at once: a bounded number, on threads of their own.

An upload holds its file in memory and waits on S3, then the database, then SQS. Run on the
shared thread pool, uploads stuck on a hung S3 would take every thread, and reads that need
neither would queue behind them. Here they run on API_UPLOAD_SLOTS threads of their own; one
more waits up to API_UPLOAD_ADMISSION_SECONDS for a slot and is then answered 503 with
Retry-After, so every upload ends within the request bound whatever S3 is doing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from app.errors import unavailable
from app.settings import get_settings

T = TypeVar("T")

# One admission semaphore and one thread limiter per slot count (the setting's one value in a
# running API; tests may change it), made on first use inside the event loop.
_slots: dict[int, tuple[anyio.Semaphore, anyio.CapacityLimiter]] = {}


def _slots_for(count: int) -> tuple[anyio.Semaphore, anyio.CapacityLimiter]:
    if count not in _slots:
        _slots[count] = (anyio.Semaphore(count), anyio.CapacityLimiter(count))
    return _slots[count]


async def run_upload(function: Callable[..., T], /, **kwargs: Any) -> T:
    """`function(**kwargs)` on an upload thread once a slot is free; 503 uploads_busy when
    none frees within the admission wait."""
    settings = get_settings()
    admission, threads = _slots_for(settings.api_upload_slots)
    with anyio.move_on_after(settings.api_upload_admission_seconds) as waited:
        await admission.acquire()
    if waited.cancelled_caught:
        raise unavailable("uploads_busy", "too many uploads are in progress; retry")
    try:
        return await anyio.to_thread.run_sync(partial(function, **kwargs), limiter=threads)
    finally:
        admission.release()
