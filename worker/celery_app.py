"""The Celery app of the worker fleet: `celery -A worker.celery_app worker|beat`.

Configuration is built lazily from the settings on first use (never at
import), extending the broker config the API's client shares.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from app.celery_config import celery_config
from app.settings import Settings, get_settings
from worker.healthcheck import ConsumingHeartbeat
from worker.monitoring.bus import monitoring_config


def worker_config(settings: Settings) -> dict[str, Any]:
    config = celery_config(settings)
    config.update(
        # Ack after the task ran, so a worker that dies mid-task leaves the message
        # on SQS to be delivered again once its visibility timeout lapses.
        task_acks_late=True,
        # ...and when the child process is killed (OOM, SIGKILL), reject the message
        # instead of acking it, for the same reason.
        task_reject_on_worker_lost=True,
        # One message in hand per process: a 0.7 s task must not hold a second
        # message invisible for 15 minutes while another worker sits idle.
        worker_prefetch_multiplier=1,
        # Pool processes (WORKER_CONCURRENCY); each loads the model chain once.
        worker_concurrency=settings.worker_concurrency,
        # Well under the SQS visibility timeout (checked by Settings): a task is
        # killed long before SQS would hand its message to another worker.
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        # SQS has no fanout: remote control and events ride the separate events
        # bus when one is configured (worker/monitoring/), never SQS; both are
        # turned on below by monitoring_config when EVENTS_BROKER_URL is set.
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        # A replaced child process starts clean; a long-lived one is recycled to
        # bound memory growth from fragmented image buffers...
        worker_max_tasks_per_child=500,
        # ...and one whose peak resident memory passed the limit, after its task (Celery counts
        # kilobytes and compares the process's high-water mark, ru_maxrss).
        worker_max_memory_per_child=settings.worker_max_memory_per_child_mb * 1024 or None,
        worker_hijack_root_logger=False,
        # When the broker connection is lost, cancel the running tasks instead of acking
        # them later on a new connection: with acks_late their messages go back to SQS.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        beat_schedule=beat_schedule(settings),
        # Beat runs the sweeps in its own process, never through the work queue.
        beat_scheduler="worker.beat_scheduler:InProcessScheduler",
    )
    if settings.broker_url.startswith("sqs://"):
        # kombu's SQS transport with a failed receive counted and retried instead of killing
        # the worker (worker/sqs_transport.py); the API publishes with kombu's own.
        config["broker_transport"] = "worker.sqs_transport:Transport"
    # Flower: the consumer whose events and pidbox ride the events bus (worker/monitoring/).
    config.update(monitoring_config(settings))
    return config


def beat_schedule(settings: Settings) -> dict[str, Any]:
    return {
        "sweep-jobs": {
            "task": "worker.tasks.sweep_jobs",
            "schedule": settings.sweep_interval_seconds,
        },
        # S3 objects no row names (worker/orphans.py): a bounded page per run.
        "sweep-orphaned-objects": {
            "task": "worker.tasks.sweep_orphans",
            "schedule": settings.orphan_sweep_interval_seconds,
        },
    }


def create_app() -> Celery:
    # Flower (worker/monitoring/): inspect/control calls, the CLI's too, and the
    # worker's event dispatcher use the events bus when one is set, never SQS.
    celery = Celery(
        "image-processor",
        include=["worker.tasks"],
        control="worker.monitoring.bus:BusControl",
        events="worker.monitoring.dispatcher:BusAppEvents",
    )
    celery.add_defaults(lambda: worker_config(get_settings()))
    # The container health check's signal that the consumer is alive (worker/healthcheck.py).
    celery.steps["consumer"].add(ConsumingHeartbeat)
    return celery


app = create_app()

# Connects the start-up signal handlers (model check, per-process model load).
import worker.lifecycle  # noqa: E402, F401
