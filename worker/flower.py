"""`python -m worker.flower`: Flower for the SQS fleet, watching the events bus.

Everything comes from the settings (app/settings.py): EVENTS_BROKER_URL (the
bus the workers publish events on and take remote control from),
FLOWER_BASIC_AUTH (required: it refuses to start without it), FLOWER_ADDRESS,
FLOWER_PORT. Flower's own FLOWER_* environment handling is not used, and no
secret is put on a command line.

Flower runs on a small Celery app of its own whose broker is the bus: its
event receiver, its inspector and its control calls all go there, and never
to SQS. Its Broker tab and /metrics show the SQS queue and DLQ depths instead
(worker/monitoring/queue_depths.py); every route demands the credentials
(worker/monitoring/flower_web.py).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import signal
import sys
from typing import Any

from celery import Celery
from flower.options import options as flower_options
from flower.urls import settings as flower_web_settings
from prometheus_client.core import REGISTRY

from app.logging_setup import configure_logging
from app.settings import Settings, get_settings
from app.timeouts import events_bus_options
from worker.monitoring.bus import bus_url
from worker.monitoring.cascade_metrics import CascadeMetrics
from worker.monitoring.flower_web import AuthenticatedFlower, parse_basic_auth
from worker.monitoring.queue_depths import QueueDepthMonitor

log = logging.getLogger(__name__)

# Flower's receiver and inspector retry a few times on their own threads; its
# event loop then backs off and reconnects when the bus is back.
FLOWER_BUS_RETRIES: dict[str, Any] = {
    "max_retries": 3,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}


class FlowerConfigurationError(RuntimeError):
    """A setting Flower cannot start without is missing or malformed."""


def monitoring_app(settings: Settings) -> Celery:
    """The Celery app Flower watches through: the events bus is its only broker."""
    url = bus_url(settings)
    if url is None:
        raise FlowerConfigurationError(
            "EVENTS_BROKER_URL is not set: Flower watches the workers through the events bus"
        )
    app = Celery("image-processor-flower", set_as_current=False)
    app.conf.update(
        broker_url=url,
        broker_transport_options={**events_bus_options(settings), **FLOWER_BUS_RETRIES},
        broker_connection_timeout=settings.events_bus_connect_timeout_seconds,
        broker_connection_retry_on_startup=True,
        accept_content=["json"],
        task_serializer="json",
        result_backend=None,
    )
    return app


def configure_flower_options(settings: Settings) -> Any:
    """Flower's (tornado's) global options, from the settings only."""
    if settings.flower_basic_auth is None:
        raise FlowerConfigurationError(
            "FLOWER_BASIC_AUTH is not set: Flower never runs without authentication"
        )
    try:
        credentials = parse_basic_auth(settings.flower_basic_auth.get_secret_value())
    except ValueError as error:
        raise FlowerConfigurationError(str(error)) from None
    flower_options.basic_auth = credentials
    flower_options.address = settings.flower_address
    flower_options.port = settings.flower_port
    flower_options.persistent = False
    return flower_options


def build_flower(settings: Settings) -> AuthenticatedFlower:
    options = configure_flower_options(settings)
    capp = monitoring_app(settings)
    web_settings = {**flower_web_settings, "debug": False}
    return AuthenticatedFlower(
        options=options,
        capp=capp,
        credentials=list(options.basic_auth),
        queue_depths=QueueDepthMonitor(settings),
        **web_settings,
    )


def main() -> int:
    settings = get_settings()
    configure_logging(settings)
    # One line per request is noise at the fleet's scrape rate (as Flower itself does).
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    try:
        flower_app = build_flower(settings)
    except FlowerConfigurationError as error:
        log.critical("flower cannot start: %s", error)
        return 2
    atexit.register(flower_app.stop)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    port = flower_app.start_http_server()
    flower_app.queue_depths.start(flower_app.io_loop)
    REGISTRY.register(CascadeMetrics(flower_app.events.state))
    with flower_app.capp.connection() as bus:
        log.info(
            "flower listening on http://%s:%d/ (basic auth), events bus %s",
            settings.flower_address,
            port,
            bus.as_uri(),
        )
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        flower_app.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
