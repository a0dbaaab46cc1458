"""Worker start-up: refuse to start without the models, then load them once per process."""

from __future__ import annotations

import logging
from typing import Any

from celery import signals

from app.logging_setup import configure_logging
from app.settings import get_settings
from worker import runtime
from worker.model_registry import UnknownModelError
from worker.provisioning import ModelFileError

log = logging.getLogger(__name__)

_threads_per_process = 1


@signals.setup_logging.connect
def _setup_logging(**_: Any) -> None:
    configure_logging(get_settings())


@signals.worker_init.connect
def _check_models_before_forking(sender: Any, **_: Any) -> None:
    """In the main process, before the pool starts: every model file present and intact."""
    global _threads_per_process
    settings = get_settings()
    try:
        runtime.verify_model_chain(settings)
    except (ModelFileError, UnknownModelError) as error:
        log.critical("worker cannot start: %s", error)
        # SystemExit is not an Exception, so Celery's signal dispatch lets it end the worker.
        raise SystemExit(f"worker cannot start: {error}") from None
    _threads_per_process = runtime.threads_per_process(int(sender.concurrency or 1))
    runtime.prepare_environment(settings)
    # Import the heavy modules once here; forked children share the loaded pages.
    import rembg.sessions  # noqa: F401


@signals.worker_process_init.connect
def _load_models(**_: Any) -> None:
    """In each pool process (and the solo pool): connections anew, models once."""
    from app import aws, db

    db.dispose_engine()
    aws.reset_clients()
    runtime.load_models(get_settings(), threads=_threads_per_process)
