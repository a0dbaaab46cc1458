"""Deep health: the database, the bucket, the queue and its DLQ, and the event bus.

Each check reports `ok`, `warning`, `failed` or `skipped` with its latency. The
overall status is `unhealthy` when the API cannot accept work (database, bucket),
`degraded` when work is accepted but something needs an operator (queue
unreachable -> jobs wait as queue_failed; messages in the DLQ; event bus down).

IAM: s3:ListBucket on the bucket (HeadBucket); sqs:GetQueueUrl and
sqs:GetQueueAttributes on the queue and its DLQ.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from app.aws import aws_client
from app.db import get_engine
from app.models import utc_now
from app.settings import Settings, get_settings
from app.storage import get_storage

logger = logging.getLogger(__name__)

# A failure of these makes the API unhealthy; of any other check, degraded.
CRITICAL_CHECKS = frozenset({"database", "bucket"})
# How long one deep health report answers every caller.
DEEP_HEALTH_CACHE_SECONDS = 5.0
QUEUE_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


def queue_depths(settings: Settings) -> dict[str, dict[str, Any]]:
    """Message counts of the processing queue and its dead-letter queue (also for Flower)."""
    client = aws_client("sqs")
    depths: dict[str, dict[str, Any]] = {}
    for role, name in (
        ("queue", settings.image_processing_queue_name),
        ("dead_letter_queue", settings.dead_letter_queue_name),
    ):
        url = client.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = client.get_queue_attributes(
            QueueUrl=url, AttributeNames=list(QUEUE_ATTRIBUTES)
        )["Attributes"]
        depths[role] = {
            "name": name,
            "messages": int(attributes.get("ApproximateNumberOfMessages", 0)),
            "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
        }
    return depths


def _check_database(_settings: Settings) -> dict[str, Any]:
    with get_engine().connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return {"status": "ok", "migration": revision}


def _check_bucket(_settings: Settings) -> dict[str, Any]:
    storage = get_storage()
    storage.check()
    return {"status": "ok", "location": storage.describe()}


def _check_queues(settings: Settings) -> dict[str, Any]:
    if not settings.broker_url.startswith("sqs://"):
        return {"status": "skipped", "reason": "broker is not SQS"}
    depths = queue_depths(settings)
    dead = depths["dead_letter_queue"]["messages"]
    status = "warning" if dead else "ok"
    result: dict[str, Any] = {"status": status, **depths}
    if dead:
        result["reason"] = f"{dead} message(s) in the dead-letter queue"
    return result


def _check_event_bus(settings: Settings) -> dict[str, Any]:
    if settings.events_broker_url is None:
        return {"status": "skipped", "reason": "EVENTS_BROKER_URL not set"}
    import redis  # only where an event bus is configured

    url = settings.events_broker_url.get_secret_value()
    client = redis.Redis.from_url(
        url,
        socket_timeout=settings.events_bus_timeout_seconds,
        socket_connect_timeout=settings.events_bus_connect_timeout_seconds,
    )
    try:
        client.ping()
    finally:
        client.close()
    return {"status": "ok"}


CHECKS: dict[str, Callable[[Settings], dict[str, Any]]] = {
    "database": _check_database,
    "bucket": _check_bucket,
    "queue": _check_queues,
    "event_bus": _check_event_bus,
}


def _run_check(
    name: str, check: Callable[[Settings], dict[str, Any]], settings: Settings
) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = check(settings)
    except Exception as error:  # a health check reports every failure instead of raising
        logger.warning("deep health: %s failed: %s", name, type(error).__name__)
        # The type and a short message only: no URL, no credentials.
        result = {"status": "failed", "error": type(error).__name__, "reason": str(error)[:200]}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def overall_status(checks: dict[str, dict[str, Any]]) -> tuple[str, list[str]]:
    failing = [name for name, result in checks.items() if result["status"] in ("failed", "warning")]
    if any(name in CRITICAL_CHECKS and checks[name]["status"] == "failed" for name in failing):
        return "unhealthy", failing
    return ("degraded" if failing else "ok"), failing


def readiness(settings: Settings | None = None) -> dict[str, Any]:
    """The one dependency without which the API can do nothing: the container health check.

    The load balancer keeps probing liveness (`/health`, no I/O); the orchestrator replaces a
    task whose database stays unreachable (app/healthcheck.py).
    """
    settings = settings or get_settings()
    database = _run_check("database", _check_database, settings)
    return {"status": "ok" if database["status"] == "ok" else "unhealthy", "database": database}


def deep_health(settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or get_settings()
    checks = {name: _run_check(name, check, settings) for name, check in CHECKS.items()}
    status, failing = overall_status(checks)
    return {"status": status, "failing": failing, "checks": checks}


class CachedReport:
    """One report shared by every caller for `ttl` seconds: a burst of calls, or a dashboard
    polling each second, costs one round of checks (five calls to four services) per `ttl`.
    Callers that arrive while it is being made wait for it instead of making their own. A
    report made under other settings (tests change them) is never served."""

    def __init__(self, make: Callable[[Settings], dict[str, Any]], *, ttl: float) -> None:
        self._make = make
        self._ttl = ttl
        self._lock = threading.Lock()
        self._report: dict[str, Any] | None = None
        self._settings: Settings | None = None
        self._made_at = 0.0

    def get(self, settings: Settings) -> dict[str, Any]:
        with self._lock:
            fresh = time.monotonic() - self._made_at < self._ttl
            if self._report is None or self._settings is not settings or not fresh:
                self._report = {**self._make(settings), "checked_at": utc_now().isoformat()}
                self._settings, self._made_at = settings, time.monotonic()
            return self._report


_deep_health_cache = CachedReport(deep_health, ttl=DEEP_HEALTH_CACHE_SECONDS)


def cached_deep_health(settings: Settings | None = None) -> dict[str, Any]:
    """deep_health, at most DEEP_HEALTH_CACHE_SECONDS old (`checked_at` says when it ran)."""
    return _deep_health_cache.get(settings or get_settings())
