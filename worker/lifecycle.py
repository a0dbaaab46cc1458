"""Worker start-up: refuse to start without the models, then load them once per process."""

from __future__ import annotations

import logging
from typing import Any

from celery import signals

from app.aws import aws_client
from app.celery_config import resolve_queue_url
from app.logging_setup import configure_logging
from app.settings import Settings, get_settings
from app.time_limits import time_limit_problems
from worker import healthcheck
from worker.models import runtime
from worker.models.files import ModelFileError
from worker.models.registry import UnknownModelError

log = logging.getLogger(__name__)

_threads_per_process = 1
_concurrency = 1


@signals.setup_logging.connect
def _setup_logging(**_: Any) -> None:
    configure_logging(get_settings())


@signals.worker_init.connect
def _check_models_before_forking(sender: Any, **_: Any) -> None:
    """In the main process, before the pool starts: every model file present and intact."""
    global _threads_per_process, _concurrency
    settings = get_settings()
    try:
        runtime.verify_model_chain(settings)
        if settings.broker_url.startswith("sqs://"):
            check_queue_visibility(settings)
    except (ModelFileError, UnknownModelError, QueueMisconfiguredError) as error:
        log.critical("worker cannot start: %s", error)
        # SystemExit is not an Exception, so Celery's signal dispatch lets it end the worker.
        raise SystemExit(f"worker cannot start: {error}") from None
    _concurrency = int(sender.concurrency or 1)
    _threads_per_process = runtime.threads_per_process(settings, _concurrency)
    # Import the model code once here; forked children share its pages and skip the import.
    import onnxruntime  # noqa: F401

    import worker.models.onnx_model  # noqa: F401


class QueueMisconfiguredError(RuntimeError):
    """The live queue would hand a running task's message to a second worker."""


def check_queue_visibility(settings: Settings) -> None:
    """The queue's own VisibilityTimeout (set by terraform) must fit the time limits' rule.

    kombu sends no visibility timeout when it receives from a predefined queue, so
    the queue attribute, not SQS_VISIBILITY_TIMEOUT, is what SQS applies.
    """
    client = aws_client("sqs")
    attributes = client.get_queue_attributes(
        QueueUrl=resolve_queue_url(settings), AttributeNames=["VisibilityTimeout"]
    )["Attributes"]
    visibility = int(attributes["VisibilityTimeout"])
    problems = time_limit_problems(
        soft=settings.task_soft_time_limit, hard=settings.task_time_limit, visibility=visibility
    )
    if problems:
        raise QueueMisconfiguredError(
            f"queue {settings.image_processing_queue_name!r} has VisibilityTimeout {visibility} s: "
            + "; ".join(problems)
        )
    if visibility != settings.sqs_visibility_timeout:
        log.warning(
            "queue VisibilityTimeout %s s, SQS_VISIBILITY_TIMEOUT %s s: the queue's applies",
            visibility,
            settings.sqs_visibility_timeout,
        )


@signals.worker_ready.connect
def _report_pool(**_: Any) -> None:
    """Logged once logging is set up (worker_init runs before it): the layout in use."""
    log.info(
        "worker pool: %s process(es), %s onnxruntime thread(s) each",
        _concurrency,
        _threads_per_process,
    )


@signals.worker_process_init.connect
def _load_models(**_: Any) -> None:
    """In each pool process (and the solo pool): connections anew, models once."""
    from app import aws, db

    db.dispose_engine()
    aws.reset_clients()
    settings = get_settings()
    try:
        runtime.load_models(settings, threads=_threads_per_process)
    except Exception as error:  # recorded for the health check, then raised to Celery's log
        healthcheck.record_models_failed(settings.worker_heartbeat_file, error)
        raise
    healthcheck.record_models_loaded(settings.worker_heartbeat_file)


@signals.worker_process_shutdown.connect
def _forget_process(**_: Any) -> None:
    healthcheck.forget_process(get_settings().worker_heartbeat_file)
