"""boto3 clients, built once per process on first use, never at import."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from app.settings import get_settings

# Standard retry mode: exponential backoff with jitter for throttling and 5xx,
# so callers only see errors that outlived a few attempts.
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4})


@cache
def aws_client(service: str) -> Any:
    """A boto3 client for `service`, honouring AWS_ENDPOINT_URL (an emulator) when set."""
    settings = get_settings()
    return boto3.session.Session().client(
        service,
        region_name=settings.aws_region,
        endpoint_url=settings.aws_endpoint_url,
        config=_CLIENT_CONFIG,
    )


def reset_clients() -> None:
    """Forget cached clients (after a fork, or when tests change the endpoint)."""
    aws_client.cache_clear()
