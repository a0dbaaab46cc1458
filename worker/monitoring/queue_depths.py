"""SQS queue and DLQ depths for Flower: Prometheus gauges on /metrics and the Broker tab.

Read with GetQueueAttributes (app.health.queue_depths, the API's deep health
uses the same function) every FLOWER_QUEUE_DEPTH_INTERVAL_SECONDS on Flower's
thread pool, never in a request: a scrape reads the last snapshot, so a slow or
unreachable SQS cannot stall Flower.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector
from tornado.ioloop import IOLoop, PeriodicCallback

from app.health import queue_depths
from app.settings import Settings

log = logging.getLogger(__name__)

# app.health's keys, as Prometheus `state` labels.
STATES = {"messages": "visible", "in_flight": "in_flight", "delayed": "delayed"}


class QueueDepthMonitor(Collector):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.depths: dict[str, dict[str, Any]] = {}
        self.last_success = 0.0
        self.failing = False

    @property
    def description(self) -> str:
        return (
            f"Amazon SQS ({self.settings.aws_region}): queue "
            f"{self.settings.image_processing_queue_name}, dead-letter queue "
            f"{self.settings.dead_letter_queue_name}. Flower's events and remote control "
            "ride the events bus (EVENTS_BROKER_URL)."
        )

    def refresh(self) -> None:
        """One GetQueueAttributes round; runs on a worker thread."""
        try:
            depths = queue_depths(self.settings)
        except Exception as error:  # reported on /metrics as sqs_depth_up 0, never raised
            if not self.failing:
                log.warning("flower: cannot read the SQS queue depths: %s", error)
            self.failing = True
            return
        if self.failing:
            log.info("flower: SQS queue depths readable again")
        self.depths, self.last_success, self.failing = depths, time.time(), False

    def start(self, io_loop: IOLoop) -> PeriodicCallback:
        REGISTRY.register(self)

        def schedule() -> None:
            io_loop.run_in_executor(None, self.refresh)

        io_loop.add_callback(schedule)
        interval_ms = self.settings.flower_queue_depth_interval_seconds * 1000
        callback = PeriodicCallback(schedule, interval_ms)
        callback.start()
        return callback

    def broker_rows(self) -> list[dict[str, Any]]:
        """The rows of Flower's Broker tab (its template's keys)."""
        return [
            {
                "name": depth["name"],
                "messages": depth["messages"] + depth["in_flight"] + depth["delayed"],
                "messages_ready": depth["messages"],
                "messages_unacknowledged": depth["in_flight"],
                "consumers": None,
                "idle_since": None,
            }
            for depth in self.depths.values()
        ]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "image_processor_sqs_depth_up", "1 if the last read of the SQS queue depths succeeded"
        )
        up.add_metric([], 0.0 if self.failing or not self.depths else 1.0)
        yield up
        if not self.depths:
            return
        messages = GaugeMetricFamily(
            "image_processor_sqs_messages",
            "Approximate messages in the processing queue and its dead-letter queue",
            labels=["queue", "role", "state"],
        )
        for role, depth in self.depths.items():
            for key, state in STATES.items():
                messages.add_metric([depth["name"], role, state], float(depth[key]))
        yield messages
        age = GaugeMetricFamily(
            "image_processor_sqs_depth_age_seconds",
            "Seconds since the SQS queue depths were last read",
        )
        age.add_metric([], time.time() - self.last_success)
        yield age
