"""The worker's consumer, its events and remote control moved onto the events bus.

Installed with the `worker_consumer` setting (bus.monitoring_config). Celery's
own Events and Heart steps stay in place: the consumer hands the Events step a
bus connection (`connection_for_write`, which only that step calls) and the
app's dispatcher class is BusEventDispatcher. The `EventsBus` step added here
runs the link; the Control step is swapped for one whose pidbox is on the bus.
Without EVENTS_BROKER_URL every step is Celery's own, unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import bootsteps
from celery.worker.consumer import Consumer
from celery.worker.consumer.control import Control
from celery.worker.consumer.events import Events
from celery.worker.pidbox import Pidbox
from kombu import Connection

from app.settings import get_settings
from worker.dead_letters import DeadLetteringConsumer
from worker.monitoring.bus import bus_connection, bus_errors, bus_url
from worker.monitoring.dispatcher import BusEventDispatcher
from worker.monitoring.link import BusLink

log = logging.getLogger(__name__)


class EventsBus(bootsteps.StartStopStep):
    """Starts the worker's link to the bus and keeps the event dispatcher in step with it."""

    requires = (Events,)

    def __init__(self, c: Any, **kwargs: Any) -> None:
        self.c = c
        super().__init__(c, **kwargs)

    def include_if(self, c: Any) -> bool:
        return getattr(c, "events_bus", None) is not None

    def start(self, c: Any) -> None:
        link: BusLink = c.events_bus
        link.subscribe(self)
        if isinstance(c.event_dispatcher, BusEventDispatcher):
            c.event_dispatcher.on_publish_failed = link.report_failure
        if link.connection is not None:
            # A restart after SQS came back: Events made a new dispatcher.
            try:
                self.on_bus_up(link.connection)
            except bus_errors(link.connection):
                self.on_bus_down()  # the link notices on its next tick
        link.start()
        if not link.up:
            self.on_bus_down()

    def stop(self, c: Any) -> None:
        pass  # the link outlives a restart of the SQS connection

    def shutdown(self, c: Any) -> None:
        c.events_bus.stop()

    def on_bus_up(self, connection: Connection) -> None:
        dispatcher = self.c.event_dispatcher
        if isinstance(dispatcher, BusEventDispatcher):
            # The dispatcher gets a connection of its own: Celery closes it on a restart.
            own = bus_connection(connection.as_uri(include_password=True))
            own.ensure_connection(max_retries=0)
            dispatcher.on_bus_up(own)

    def on_bus_down(self) -> None:
        dispatcher = self.c.event_dispatcher
        if isinstance(dispatcher, BusEventDispatcher):
            dispatcher.on_bus_down()


class BusPidbox(Pidbox):
    """The worker's remote-control mailbox, consuming on the bus instead of the broker."""

    def __init__(self, c: Any, link: BusLink) -> None:
        super().__init__(c)
        self.link = link
        self.listening = False
        link.subscribe(self)

    def start(self, c: Any) -> None:
        self.listening = True
        if self.link.connection is not None:
            self._listen(self.link.connection)

    def stop(self, c: Any) -> None:
        self.listening = False
        super().stop(c)

    def _listen(self, connection: Connection) -> None:
        self.node.channel = connection.channel()
        self.consumer = self.node.listen(callback=self.on_message)
        self.consumer.on_decode_error = self.c.on_decode_error

    def on_bus_up(self, connection: Connection) -> None:
        if self.listening:
            self._listen(connection)

    def on_bus_down(self) -> None:
        # The connection is dead: forget consumer and channel, do not talk to Redis.
        self.consumer = None
        self.node.channel = None


class BusRemoteControl(Control):
    """Celery's Control step with its pidbox on the bus (prefork and solo pools)."""

    def __init__(self, c: Any, **kwargs: Any) -> None:
        link: BusLink | None = getattr(c, "events_bus", None)
        if link is None:
            super().__init__(c, **kwargs)
            return
        self.is_green = False
        self.box = BusPidbox(c, link)
        self.start = self.box.start
        self.stop = self.box.stop
        self.shutdown = self.box.shutdown
        bootsteps.StartStopStep.__init__(self, c, **kwargs)

    def include_if(self, c: Any) -> bool:
        if getattr(c, "events_bus", None) is None:
            return bool(super().include_if(c))
        return bool(c.app.conf.worker_enable_remote_control)


_SWAPPED_STEPS = {"celery.worker.consumer.control:Control": f"{__name__}:BusRemoteControl"}


class BusConsumer(DeadLetteringConsumer):
    """The worker's consumer (undecodable messages dead-lettered, worker/dead_letters.py); with
    EVENTS_BROKER_URL set, its events and pidbox ride the bus."""

    class Blueprint(Consumer.Blueprint):
        default_steps = [
            *(_SWAPPED_STEPS.get(step, step) for step in Consumer.Blueprint.default_steps),
            f"{__name__}:EventsBus",
        ]

    _announced_off = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._events_bus_url = bus_url(get_settings())
        self._events_bus: BusLink | None = None
        super().__init__(*args, **kwargs)
        if self._events_bus_url is None and not BusConsumer._announced_off:
            BusConsumer._announced_off = True
            log.info(
                "EVENTS_BROKER_URL is not set: monitoring is off (no Celery events and no "
                "remote control; Flower and `celery inspect` will not see %s)",
                self.hostname,
            )

    @property
    def events_bus(self) -> BusLink | None:
        """The link to the bus, made on first use (the timer exists by then); None when off."""
        if self._events_bus is None and self._events_bus_url is not None:
            self._events_bus = BusLink(
                self._events_bus_url, timer=self.timer, hostname=self.hostname
            )
        return self._events_bus

    def connection_for_write(self, url: str | None = None, heartbeat: Any = None) -> Any:
        """Only the Events step calls this: its dispatcher publishes on the bus."""
        link = self.events_bus
        if link is None or url is not None:
            return super().connection_for_write(url=url, heartbeat=heartbeat)
        # Lazy and unconnected: the EventsBus step puts the dispatcher online or
        # offline before the loop starts, so a dead bus is never dialled here.
        return bus_connection(link.url)
