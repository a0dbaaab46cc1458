"""The API: `uvicorn app.main:app`. OpenAPI at /openapi.json.

Building the app reads no settings and opens no connection; the lifespan
checks the settings (API_KEY is required unless ENVIRONMENT=local) when the
server starts.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.access import ApiKeyGate, configured_api_key
from app.api import books, health, images, imports, jobs
from app.celery_client import reset_celery_client
from app.db import dispose_engine
from app.errors import install_error_handlers
from app.headers import SecurityHeaders
from app.limits import BodySizeLimit
from app.logging_setup import configure_logging
from app.review.routes import router as review_router
from app.settings import Settings, get_settings
from app.system_info import app_version

logger = logging.getLogger(__name__)


class ApiConfigurationError(RuntimeError):
    """The settings do not allow the API to start."""


def check_api_settings(settings: Settings) -> None:
    if configured_api_key(settings) is None and settings.environment != "local":
        raise ApiConfigurationError(
            f"API_KEY is required when ENVIRONMENT={settings.environment}; "
            "set it (ECS takes it from Secrets Manager), or run with ENVIRONMENT=local"
        )


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    check_api_settings(settings)
    if settings.environment != "test":  # under pytest, pytest owns the log handlers
        configure_logging(settings)
    logger.info(
        "API starting: environment=%s storage=%s queue=%s",
        settings.environment,
        settings.storage_backend,
        settings.image_processing_queue_name,
    )
    yield
    reset_celery_client()
    dispose_engine(close=True)


def create_app() -> FastAPI:
    app = FastAPI(
        title="image-processor",
        version=app_version(),
        description="Books, their images, and background-removal jobs.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # Outermost last: the headers on every answer, the key before the body, the body bounded.
    app.add_middleware(BodySizeLimit)
    app.add_middleware(ApiKeyGate)
    app.add_middleware(SecurityHeaders)
    routers = (books.router, images.router, imports.router, jobs.router, health.router)
    for router in (*routers, review_router):
        app.include_router(router)
    return app


app = create_app()
