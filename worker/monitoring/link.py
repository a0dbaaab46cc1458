"""The worker's one connection to the events bus: noticed when lost, re-made when back.

Driven from the worker's own timer, in the thread that runs the event loop, so
nothing here races the consumer. Every bus operation is bounded (bus.py), and a
lost bus only closes what rides it: the SQS consumer never waits for Redis.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from kombu import Connection
from kombu.common import ignore_errors

from worker.monitoring.bus import bus_connection, bus_errors

log = logging.getLogger(__name__)

# How often pending control messages are drained from the bus (latency of
# `celery inspect`; each tick is one non-blocking poll).
POLL_INTERVAL_SECONDS = 0.2
# At most this many control messages handled per tick, so a flood cannot starve SQS.
MAX_MESSAGES_PER_TICK = 50
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 15.0


class BusListener(Protocol):
    """What rides the bus: told when the link comes up (with the connection) and goes down."""

    def on_bus_up(self, connection: Connection) -> None: ...

    def on_bus_down(self) -> None: ...


class BusLink:
    def __init__(self, url: str, *, timer: Any, hostname: str) -> None:
        self.url = url
        self.timer = timer
        self.hostname = hostname
        self.connection: Connection | None = None
        self._listeners: list[BusListener] = []
        self._tick_ref: Any = None
        self._retry_delay = RETRY_FIRST_SECONDS
        self._next_attempt = 0.0
        self._failures = 0
        self._reported: BaseException | None = None

    @property
    def up(self) -> bool:
        return self.connection is not None

    def subscribe(self, listener: BusListener) -> None:
        if listener not in self._listeners:
            self._listeners.append(listener)

    def unsubscribe(self, listener: BusListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def start(self) -> None:
        """Connect (one attempt) and start the timer that drains, watches and retries."""
        if self._tick_ref is None:
            self._tick_ref = self.timer.call_repeatedly(POLL_INTERVAL_SECONDS, self._tick)
        if not self.up:
            self._attempt()

    def stop(self) -> None:
        if self._tick_ref is not None:
            self.timer.cancel(self._tick_ref)
            self._tick_ref = None
        connection, self.connection = self.connection, None
        if connection is not None:
            ignore_errors(connection, connection.release)

    def report_failure(self, error: BaseException) -> None:
        """Something riding the bus failed on it (an event publish timed out, say): the link is
        dropped and re-made on the next tick, not from inside the caller."""
        if self.connection is not None:
            self._reported = error

    def _tick(self) -> None:
        if self.connection is None:
            if time.monotonic() >= self._next_attempt:
                self._attempt()
            return
        if self._reported is not None:
            error, self._reported = self._reported, None
            self._lost(error)
            return
        connection = self.connection
        try:
            for _ in range(MAX_MESSAGES_PER_TICK):
                connection.drain_events(timeout=0)
        except TimeoutError:
            pass  # nothing (more) pending
        except bus_errors(connection) as error:
            self._lost(error)

    def _attempt(self) -> None:
        connection = bus_connection(self.url)
        try:
            connection.ensure_connection(max_retries=0)
            for listener in self._listeners:
                listener.on_bus_up(connection)
        except bus_errors(connection) as error:
            self._notify_down()
            ignore_errors(connection, connection.collect)
            self._schedule_retry(error)
            return
        self.connection = connection
        self._reported = None  # failures reported of the connection this one replaces
        if self._failures:
            log.info(
                "worker %s: events bus %s is back after %d failed attempts; "
                "events and remote control resumed",
                self.hostname,
                connection.as_uri(),
                self._failures,
            )
        else:
            log.info(
                "worker %s: events and remote control on %s", self.hostname, connection.as_uri()
            )
        self._failures = 0
        self._retry_delay = RETRY_FIRST_SECONDS

    def _lost(self, error: BaseException) -> None:
        log.warning(
            "worker %s: events bus lost (%s); tasks keep running on SQS, "
            "monitoring resumes when the bus is back",
            self.hostname,
            error,
        )
        connection, self.connection = self.connection, None
        self._notify_down()
        if connection is not None:
            ignore_errors(connection, connection.collect)
        self._schedule_retry(error)

    def _notify_down(self) -> None:
        for listener in self._listeners:
            try:
                listener.on_bus_down()
            except Exception:  # closing what rode a dead connection; the next must still close
                log.debug(
                    "worker %s: closing %r after the bus was lost failed",
                    self.hostname,
                    listener,
                    exc_info=True,
                )

    def _schedule_retry(self, error: BaseException) -> None:
        self._failures += 1
        # One warning when it starts failing, then quiet retries with backoff.
        level = logging.WARNING if self._failures == 1 else logging.DEBUG
        log.log(
            level,
            "worker %s: events bus %s unreachable (%s); retrying in %.0f s",
            self.hostname,
            bus_connection(self.url).as_uri(),
            error,
            self._retry_delay,
        )
        self._next_attempt = time.monotonic() + self._retry_delay
        self._retry_delay = min(self._retry_delay * 2, RETRY_MAX_SECONDS)
