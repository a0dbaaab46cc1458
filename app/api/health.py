"""Liveness, readiness, deep health, and the admin system information."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import ApiKeyRequired, SettingsDep
from app.api.schemas import DeepHealth, Liveness, Readiness, SystemInfo
from app.errors import error_responses
from app.health import cached_deep_health, readiness
from app.system_info import system_info

router = APIRouter(tags=["health"])


@router.get("/health")
async def liveness() -> Liveness:
    """The process answers; no I/O (the load balancer's check)."""
    return Liveness(status="ok")


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "The database does not answer"}},
)
def ready(settings: SettingsDep) -> JSONResponse:
    """The process answers and so does its database: the container health check."""
    return _answer(Readiness.model_validate(readiness(settings)))


@router.get(
    "/health/deep",
    response_model=DeepHealth,
    dependencies=[ApiKeyRequired],
    responses={
        503: {"model": DeepHealth, "description": "Unhealthy"},
        **error_responses(401),
    },
)
def deep(settings: SettingsDep) -> JSONResponse:
    """Database, bucket, queue and dead-letter queue counts, event bus; 503 when unhealthy.
    Needs the key (it names the bucket and queues); one report serves every caller for 5 s."""
    return _answer(DeepHealth.model_validate(cached_deep_health(settings)))


def _answer(report: Readiness | DeepHealth) -> JSONResponse:
    status_code = 503 if report.status == "unhealthy" else 200
    return JSONResponse(status_code=status_code, content=report.model_dump(mode="json"))


@router.get(
    "/admin/system-info",
    dependencies=[ApiKeyRequired],
    responses=error_responses(401),
)
def admin_system_info(settings: SettingsDep) -> SystemInfo:
    return SystemInfo.model_validate(system_info(settings))
