"""The event dispatcher of the worker: it never blocks the loop that consumes SQS."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery.app.events import Events
from celery.events import EventDispatcher
from celery.events.event import group_from
from kombu import Connection
from kombu.common import ignore_errors

log = logging.getLogger(__name__)


class BusEventDispatcher(EventDispatcher):
    """Celery's dispatcher, with publishing bounded and an offline mode the link switches.

    While the bus is down, heartbeats and worker events are dropped (they mean
    nothing later) and task events are held, up to `max_held_events`, in
    Celery's own group buffer, which Celery keeps while the dispatcher is closed
    and flushes once it is enabled again: Flower then sees the final state of
    the tasks that ran during the outage.
    """

    max_held_events = 10_000
    connection: Connection | None
    # Told when a publish failed: the bus may have gone silent, which nothing else notices
    # (an unanswered connection raises no error until something waits for an answer).
    on_publish_failed: Callable[[BaseException], None] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.offline = False
        self.held = 0
        self.dropped = 0
        super().__init__(*args, **kwargs)

    def _publish(self, event: Any, producer: Any, routing_key: str, **kwargs: Any) -> Any:
        """Celery's, which keeps an event it could not publish in its outbound buffer and says
        nothing; here the failure is also reported, so the link can reconnect."""
        buffered = len(self._outbound_buffer)
        result = super()._publish(event, producer, routing_key, **kwargs)
        if len(self._outbound_buffer) > buffered and self.on_publish_failed is not None:
            self.on_publish_failed(ConnectionError(f"could not publish {routing_key} events"))
        return result

    def send(self, type: str, *args: Any, **fields: Any) -> Any:
        if self.offline:
            if group_from(type) not in self.buffer_group:
                return None
            if self.held >= self.max_held_events:
                self.dropped += 1
                return None
            self.held += 1
        # The Heart sends with retry=True: kombu would then retry a dead bus
        # forever, inside the loop that consumes SQS. A failed publish is
        # buffered by Celery instead, and flushed when the link is back.
        fields["retry"] = False
        fields.pop("retry_policy", None)
        return super().send(type, *args, **fields)

    def on_bus_down(self) -> None:
        self.offline = True
        self.close()
        connection, self.connection = self.connection, None
        # No connection at all while offline: the worker's loop asks the
        # dispatcher's connection for its heartbeat interval, which would dial the bus.
        if connection is not None:
            ignore_errors(connection, connection.collect)

    def on_bus_up(self, connection: Connection) -> None:
        # disable() stops the Heart without a send; enable() restarts it, so
        # Flower gets worker-online and heartbeats again.
        self.disable()
        previous, self.connection = self.connection, connection
        if previous is not None and previous is not connection:
            ignore_errors(previous, previous.collect)
        self.offline = False
        self.enable()
        if self.dropped:
            log.warning(
                "worker %s: %d task events were dropped while the events bus was down",
                self.hostname,
                self.dropped,
            )
        self.held = self.dropped = 0
        self.flush()


class BusAppEvents(Events):
    """`app.events` of the worker's app (set with `Celery(events=...)`): its Dispatcher above."""

    dispatcher_cls = "worker.monitoring.dispatcher:BusEventDispatcher"
