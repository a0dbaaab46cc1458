"""Logging for every process type: JSON lines in containers, plain text on a terminal.

Context such as job_id, book_id, image_id, model and durations is passed with
`extra=` and lands as fields of the JSON line.
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from app.settings import Settings

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(processName)s] %(message)s"
_JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(processName)s %(message)s"


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(
            JsonFormatter(_JSON_FIELDS, rename_fields={"levelname": "level", "asctime": "time"})
        )
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # boto and urllib3 at INFO/DEBUG log request details; keep them to warnings.
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
