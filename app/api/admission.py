"""Uploads in progress at once: a bounded number, on threads of their own, each answered
within a bound.

An upload holds its file in memory and waits on S3, then the database, then SQS. Run on the
shared thread pool, uploads stuck on a hung S3 would take every thread, and reads that need
neither would queue behind them. Here they run on API_UPLOAD_SLOTS threads of their own; one
more waits up to API_UPLOAD_ADMISSION_SECONDS for a slot and is then answered 503 with
Retry-After. An admitted upload is answered by API_UPLOAD_BOUND_SECONDS after its request
began to wait, whatever S3 does: past it, the request gives up on the thread (app/handoff.py),
which keeps its slot until S3 lets go of it, so the threads stay bounded too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from functools import partial
from typing import Any, TypeVar

import anyio

from app.errors import unavailable
from app.handoff import Handoff
from app.settings import get_settings

logger = logging.getLogger(__name__)

T = TypeVar("T")

# What a request that gave up says, by what its upload was waiting on.
_GAVE_UP = {
    "storage": "storage_unavailable",
    "database": "database_unavailable",
}

# One admission semaphore and one executor per slot count (the setting's one value in a
# running API; tests may change it), made on first use inside the event loop.
_slots: dict[int, tuple[anyio.Semaphore, ThreadPoolExecutor]] = {}


def _slots_for(count: int) -> tuple[anyio.Semaphore, ThreadPoolExecutor]:
    if count not in _slots:
        threads = ThreadPoolExecutor(count, thread_name_prefix="upload")
        _slots[count] = (anyio.Semaphore(count), threads)
    return _slots[count]


async def run_upload(function: Callable[..., T], /, **kwargs: Any) -> T:
    """`function(handoff=..., **kwargs)` on an upload thread once a slot is free: its answer,
    or 503 when no slot frees within the admission wait (uploads_busy) or the upload is still
    waiting on S3 or the database at the bound."""
    settings = get_settings()
    deadline = anyio.current_time() + settings.api_upload_bound_seconds
    admission, threads = _slots_for(settings.api_upload_slots)
    with anyio.move_on_after(settings.api_upload_admission_seconds) as waited:
        await admission.acquire()
    if waited.cancelled_caught:
        raise unavailable("uploads_busy", "too many uploads are in progress; retry")
    handoff = Handoff()
    try:
        work = threads.submit(partial(function, handoff=handoff, **kwargs))
    except BaseException:
        admission.release()
        raise
    # The slot is free when the thread is, not when the request gives up on it.
    loop = asyncio.get_running_loop()
    work.add_done_callback(partial(_release_from_thread, loop, admission))
    with anyio.move_on_after(deadline - anyio.current_time()):
        return await asyncio.wrap_future(work)
    return await _after_the_bound(work, handoff, settings.api_upload_bound_seconds)


async def _after_the_bound(work: Future[T], handoff: Handoff, bound: float) -> T:
    waiting_on = handoff.abandon()
    if waiting_on is None:
        # The upload is recording what it stored: its answer is the client's to hear, and
        # comes within the database's timeouts.
        return await asyncio.wrap_future(work)
    code = _GAVE_UP.get(waiting_on, "uploads_busy")
    logger.warning("upload abandoned after %.0f s waiting on %s", bound, waiting_on)
    raise unavailable(code, f"the upload waited on {waiting_on} for {bound:.0f} s; retry")


def _release_from_thread(
    loop: asyncio.AbstractEventLoop, admission: anyio.Semaphore, _: Future[Any]
) -> None:
    with suppress(RuntimeError):  # the loop has closed: the API is shutting down
        loop.call_soon_threadsafe(admission.release)
