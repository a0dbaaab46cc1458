"""Every error the API returns is JSON: `{"code": <stable>, "message": <human>, "details"?}`."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError as DatabaseOperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.storage import StorageError, TransientStorageError

logger = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


# What a 503 asks the client to wait before trying again (Retry-After): long enough for a
# blip to pass, short against the sweep's and the worker's own retries.
RETRY_AFTER_SECONDS = 10


class ApiError(Exception):
    """Raised by routes and services; rendered as ErrorBody with this status and code."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message


def unavailable(code: str, message: str) -> ApiError:
    """A 503: a dependency is down or the API is full; retry after RETRY_AFTER_SECONDS."""
    return ApiError(503, code, message)


def not_found(kind: str, identifier: object) -> ApiError:
    return ApiError(404, f"{kind}_not_found", f"no {kind.replace('_', ' ')} with id {identifier}")


# Codes for errors Starlette raises itself (unknown path, wrong method).
_HTTP_CODES = {
    400: "malformed_request",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_response(status_code: int, code: str, message: str, **extra: Any) -> JSONResponse:
    body = ErrorBody(code=code, message=message, **extra).model_dump(exclude_none=True)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status_code == 503 else None
    return JSONResponse(status_code=status_code, content=body, headers=headers)


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` documenting ErrorBody for each status a route can return."""
    return {
        code: {"model": ErrorBody, "description": HTTPStatus(code).phrase} for code in status_codes
    }


async def _api_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return error_response(error.status_code, error.code, error.message)


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = _HTTP_CODES.get(error.status_code, f"http_{error.status_code}")
    response = error_response(error.status_code, code, str(error.detail))
    if error.headers:
        response.headers.update(error.headers)
    return response


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    # Only location, message and type: the rejected input may be bytes or a file.
    details = [
        {
            "loc": [str(part) for part in item.get("loc", ())],
            "msg": item.get("msg", ""),
            "type": item.get("type", ""),
        }
        for item in error.errors()
    ]
    return error_response(422, "validation_error", "the request is not valid", details=details)


async def _transient_storage_error(request: Request, error: Exception) -> JSONResponse:
    logger.warning("%s %s: storage unavailable: %s", request.method, request.url.path, error)
    return error_response(503, "storage_unavailable", "object storage is unavailable; retry")


async def _storage_error(request: Request, error: Exception) -> JSONResponse:
    logger.error("%s %s: storage error: %s", request.method, request.url.path, error)
    return error_response(502, "storage_error", "object storage refused the request")


async def _database_unavailable(request: Request, error: Exception) -> JSONResponse:
    logger.error(
        "%s %s: database unavailable: %s", request.method, request.url.path, type(error).__name__
    )
    return error_response(503, "database_unavailable", "the database is unavailable; retry")


async def _pool_exhausted(request: Request, _error: Exception) -> JSONResponse:
    logger.error("%s %s: no database connection free in time", request.method, request.url.path)
    return error_response(503, "database_busy", "every database connection is in use; retry")


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    logger.exception("%s %s: unhandled error", request.method, request.url.path)
    return error_response(500, "internal_error", "an unexpected error occurred")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(TransientStorageError, _transient_storage_error)
    app.add_exception_handler(StorageError, _storage_error)
    app.add_exception_handler(DatabaseOperationalError, _database_unavailable)
    app.add_exception_handler(PoolTimeoutError, _pool_exhausted)
    app.add_exception_handler(Exception, _unexpected)
