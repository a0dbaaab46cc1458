"""kombu's SQS transport, made to outlive a failed or unanswered receive; its polling watched.

Two defects of kombu 5.7.0 stop a worker's consumption (docs/operations.md, "Upstream reports"):
- the first `ReceiveMessage` that fails kills the worker: its async client turns a refused
  connection, a timeout or a 5xx into `[]`, which `Channel._on_messages_ready` then calls `.get`
  on, and raises a bare `Exception` for any other status, which nothing catches on the way up to
  Celery's event loop. The worker's main process exits with the tasks in flight. Here a failed
  receive is logged and counted, and the next one waits with backoff;
- a `ReceiveMessage` that is never answered is waited for forever: its curl client never applies
  the request's connect and request timeouts (20 s), so the polling loop stops for good, silently,
  while the worker looks alive. Here the curl client applies them.
Every round of the polling loop is recorded in `receive_watch`, which the container health check
reads (worker/healthcheck.py).

Selected for the worker only, by Celery's `broker_transport` (worker/celery_app.py): the API
publishes with kombu's own transport and never imports this module.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

import pycurl
from botocore.exceptions import BotoCoreError, ClientError
from kombu.asynchronous.http.curl import CurlClient
from kombu.transport import SQS
from vine import ensure_promise, promise

log = logging.getLogger(__name__)

# The wait before the next receive after 1, 2, 3... failures in a row: 1, 2, 4, 8, 16, then 20 s
# (with jitter, so a fleet that met one outage does not return to SQS in step). The cap is what
# an outage's end costs a worker at most, and keeps an idle worker polling well inside the
# health check's two minutes.
RECEIVE_BACKOFF_FIRST_S = 1.0
RECEIVE_BACKOFF_MAX_S = 20.0


class ReceiveWatch:
    """What the consumer's polling loop did last: its evidence of life, and its errors."""

    def __init__(self) -> None:
        self.active = False  # an SQS channel of this module is polling in this process
        self.polled_at = time.monotonic()
        self.errors_total = 0
        self.errors_in_a_row = 0
        self.failing_since: float | None = None
        self.last_error = ""

    def polled(self) -> None:
        self.active = True
        self.polled_at = time.monotonic()

    def seconds_since_poll(self) -> float:
        return time.monotonic() - self.polled_at

    def received(self, queue: str) -> None:
        if self.failing_since is None:
            return
        log.warning(
            "SQS receive from %s works again after %d failed attempt(s) over %.0f s",
            queue,
            self.errors_in_a_row,
            time.monotonic() - self.failing_since,
        )
        self.errors_in_a_row = 0
        self.failing_since = None

    def failed(self, queue: str, error: str) -> float:
        """Count a failed receive; the seconds to wait before the next."""
        self.errors_total += 1
        self.errors_in_a_row += 1
        self.last_error = error
        if self.failing_since is None:
            self.failing_since = time.monotonic()
        ceiling = min(
            RECEIVE_BACKOFF_MAX_S, RECEIVE_BACKOFF_FIRST_S * 2 ** (self.errors_in_a_row - 1)
        )
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not secrets
        # Every failure is counted; the 1st, 2nd, 4th, 8th... of a run are logged.
        in_a_row = self.errors_in_a_row
        level = logging.WARNING if in_a_row & (in_a_row - 1) == 0 else logging.DEBUG
        log.log(
            level,
            "SQS receive from %s failed (%d in a row, %d since start): %s; next in %.1f s",
            queue,
            in_a_row,
            self.errors_total,
            error,
            delay,
            extra={"receive_errors": self.errors_total},
        )
        return delay

    def as_dict(self) -> dict[str, Any]:
        return {
            "receive_errors": self.errors_total,
            "receive_errors_in_a_row": self.errors_in_a_row,
            "last_receive_error": self.last_error,
        }


receive_watch = ReceiveWatch()


class BoundedCurlClient(CurlClient):
    """kombu's curl client, with each request's own connect and request timeouts applied."""

    def _setup_request(
        self, curl: Any, request: Any, buffer: Any, headers: Any, _pycurl: Any = pycurl
    ) -> None:
        super()._setup_request(curl, request, buffer, headers, _pycurl)
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, int(request.connect_timeout * 1000))
        curl.setopt(pycurl.TIMEOUT_MS, int(request.request_timeout * 1000))


def _bound_http_client(hub: Any) -> None:
    """Make the hub's HTTP client, the one kombu's async SQS connection takes from the hub
    (`kombu.asynchronous.http.get_client`), a BoundedCurlClient."""
    current = getattr(hub, "_current_http_client", None)
    if isinstance(current, BoundedCurlClient):
        return
    if current is not None:
        current.close()
    hub._current_http_client = BoundedCurlClient(hub)


class Channel(SQS.Channel):
    """kombu's SQS channel, whose receives are bounded and whose failures are counted and
    retried, never raised."""

    _retry_after = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.hub is not None:
            _bound_http_client(self.hub)

    def _schedule_queue(self, queue: str) -> None:
        receive_watch.polled()
        try:
            super()._schedule_queue(queue)
        except (BotoCoreError, ClientError, OSError) as error:
            # Building the request failed (credentials that could not be refreshed, say).
            self._receive_failed(queue, _describe(error))
            self._loop1(queue)

    def _get_async(self, queue: str, count: int = 1, callback: Any = None) -> Any:
        """kombu's, with the response checked before `_on_messages_ready` sees it."""
        queue_url = self._new_queue(queue)
        name = self.canonical_queue_name(queue)
        done = ensure_promise(callback)
        checked = promise(
            self._on_receive, (queue_url, queue, done), on_error=self._on_receive_error
        )
        return self._get_from_sqs(
            queue_name=name,
            queue_url=queue_url,
            connection=self.asynsqs(queue=name),
            count=count,
            callback=checked,
        )

    def _on_receive(self, queue_url: str, queue: str, done: Any, response: Any) -> None:
        receive_watch.polled()  # a receive ended: the loop is alive, whatever SQS answered
        if isinstance(response, list):
            # kombu's async client answers a timed-out, refused or 5xx ReceiveMessage with [].
            self._receive_failed(queue, "no answer, a timeout or a 5xx (kombu reports [])")
            done(0)
            return
        receive_watch.received(queue)
        done(self._on_messages_ready(queue_url, queue, response))

    def _on_receive_error(self, queue_url: str, queue: str, done: Any, error: Any) -> None:
        # Any other status: kombu raises a bare Exception naming it (a 403 or 400, say).
        receive_watch.polled()
        self._receive_failed(queue, _describe(error))
        done(0)

    def _receive_failed(self, queue: str, error: str) -> None:
        self._retry_after = time.monotonic() + receive_watch.failed(queue, error)

    def _loop1(self, queue: str, messages_fetched: Any = None) -> None:
        wait = self._retry_after - time.monotonic()
        if wait > 0 and self.hub is not None:
            self.hub.call_later(wait, self._schedule_queue, queue)
            return
        super()._loop1(queue, messages_fetched)


class Transport(SQS.Transport):
    Channel = Channel


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:300]
