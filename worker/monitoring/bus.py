"""The events bus: its connections, the remote-control client, the worker settings it needs."""

from __future__ import annotations

import logging
from typing import Any

from celery.app.control import Control
from kombu import Connection
from kombu.exceptions import OperationalError
from kombu.pidbox import Mailbox

from app.settings import Settings, get_settings
from app.timeouts import events_bus_options

log = logging.getLogger(__name__)

CONSUMER_CLASS = "worker.monitoring.steps:BusConsumer"


def bus_url(settings: Settings) -> str | None:
    """The events bus URL, or None when monitoring is off."""
    if settings.events_broker_url is None:
        return None
    return settings.events_broker_url.get_secret_value().strip() or None


def bus_connection(url: str) -> Connection:
    """A lazy connection to the bus; nothing of the SQS broker's options leaks into it.

    Every use of it is bounded (app/timeouts.py), because the worker's event loop, the one that
    consumes SQS, is the thread that publishes events and answers control commands.
    """
    settings = get_settings()
    return Connection(
        url,
        connect_timeout=settings.events_bus_connect_timeout_seconds,
        transport_options=events_bus_options(settings),
    )


def bus_errors(connection: Connection) -> tuple[type[BaseException], ...]:
    """What a lost or unreachable bus raises: the transport's errors, or kombu's wrapper."""
    return (OperationalError, *connection.connection_errors, *connection.channel_errors)


def monitoring_config(settings: Settings) -> dict[str, Any]:
    """Worker settings: events and remote control on exactly when the bus is configured."""
    enabled = bus_url(settings) is not None
    return {
        "worker_consumer": CONSUMER_CLASS,
        "worker_enable_remote_control": enabled,
        "worker_send_task_events": enabled,
    }


class BusControl(Control):
    """`app.control` that talks to the workers over the events bus instead of the broker.

    Set with `Celery(control=...)`. Without EVENTS_BROKER_URL it is Celery's own Control.
    """

    def __init__(self, app: Any = None) -> None:
        self.bus_url = bus_url(get_settings())
        super().__init__(app=app)

    def Mailbox(self, namespace: str, *, producer_pool: Any = None, **kwargs: Any) -> Mailbox:
        """Called by Control.__init__ in place of the Mailbox class.

        Celery hands the mailbox the broker's producer pool, so the worker would
        publish its replies to SQS. On the bus the mailbox publishes through the
        connection it is bound to (the bus) instead.
        """
        if self.bus_url is not None:
            producer_pool = None
        return Mailbox(namespace, producer_pool=producer_pool, **kwargs)

    def broadcast(
        self,
        command: str,
        arguments: dict[str, Any] | None = None,
        destination: list[str] | None = None,
        connection: Connection | None = None,
        **kwargs: Any,
    ) -> Any:
        """Every inspect and control call ends here: give it a bus connection."""
        if connection is not None or self.bus_url is None:
            return super().broadcast(command, arguments, destination, connection, **kwargs)
        log.debug("remote control %r over the events bus", command)
        with bus_connection(self.bus_url) as bus:
            return super().broadcast(command, arguments, destination, bus, **kwargs)
