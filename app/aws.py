"""boto3 clients, built once per process on first use, never at import."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3

from app.settings import get_settings
from app.timeouts import aws_client_config


@cache
def aws_client(service: str) -> Any:
    """A boto3 client for `service`, its calls bounded (app/timeouts.py), honouring
    AWS_ENDPOINT_URL or the service's own AWS_ENDPOINT_URL_<SERVICE> (an emulator) when set."""
    settings = get_settings()
    return boto3.session.Session().client(
        service,
        region_name=settings.aws_region,
        endpoint_url=settings.aws_endpoint_for(service),
        config=aws_client_config(settings),
    )


def reset_clients() -> None:
    """Forget cached clients (after a fork, or when tests change the endpoint)."""
    aws_client.cache_clear()
