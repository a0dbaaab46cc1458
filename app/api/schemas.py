"""Request and response bodies of the API (the OpenAPI schema is generated from these)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.failure_reasons import FailureReason
from app.listing_import import FailureCode
from app.models import JobStatus
from app.processing_overrides import Backdrop

# Printable text without control characters (Postgres refuses NUL in text).
Title = Annotated[
    str,
    Field(
        min_length=1,
        max_length=500,
        pattern=r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$",
    ),
]
ListingId = Annotated[
    str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
ListingFileName = Annotated[
    str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9._ -]*$")
]


class BookCreate(BaseModel):
    title: Title


class ImageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    book_id: int
    s3_key: str = Field(description="Key without S3_IMAGES_PREFIX")
    display_order: int
    is_primary: bool
    source_image_id: int | None
    created_at: datetime
    url: str | None = Field(default=None, description="CDN URL when IMAGES_CDN_DOMAIN is set")


class BookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    created_at: datetime
    images: list[ImageOut] = []


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    book_id: int
    source_image_id: int
    status: JobStatus
    attempt_count: int
    enqueue_attempts: int
    model_used: str | None
    escalated: bool | None = Field(
        description="Whether the model cascade went past its first model (once completed)"
    )
    failure_reason: FailureReason | None = Field(
        description="Why the job failed (or, while queue_failed, why publishing did)"
    )
    requested_model_chain: list[str] | None = Field(
        default=None, description="The model chain the operator chose; null: MODEL_CHAIN"
    )
    requested_backdrop: Backdrop | None = Field(
        default=None, description="The backdrop the operator chose; null: by brightness"
    )
    subject_brightness: float | None
    background_color: str | None
    result_image_id: int | None
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    updated_at: datetime


ModelName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9._-]*$")]


class ProcessRequest(BaseModel):
    """Overrides for one job; every field optional, and no body at all is "as configured"."""

    # `model_chain` is the API's name for it, not pydantic's reserved `model_` namespace.
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model_chain: list[ModelName] | None = Field(
        default=None,
        min_length=1,
        max_length=10,
        description='Models to run, in order, as a cascade (for example ["u2net"]); '
        "each must be in the fleet's MODEL_CHAIN. Default: MODEL_CHAIN",
    )
    backdrop: Literal["black", "white", "auto"] | None = Field(
        default=None, description="The result's backdrop; auto (the default): by brightness"
    )


class JobList(BaseModel):
    items: list[JobOut]
    total: int


class UploadResult(BaseModel):
    image: ImageOut
    job: JobOut | None = Field(description="The processing job, for a primary image")


class ImportRequest(BaseModel):
    listing_id: ListingId
    files: list[ListingFileName] | None = Field(
        default=None,
        max_length=500,
        description="Files of the listing, in display order; default: every object, by name",
    )


class ImportFailure(BaseModel):
    key: str
    code: FailureCode
    message: str


class ImportResult(BaseModel):
    images: list[ImageOut]
    failures: list[ImportFailure]
    job: JobOut | None = Field(description="The job of the first image that copied")


class Liveness(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ok", "unhealthy"]
    database: dict[str, Any]


class DeepHealth(BaseModel):
    status: Literal["ok", "degraded", "unhealthy"]
    failing: list[str]
    checks: dict[str, dict[str, Any]]
    # When the checks ran: one report answers every caller for a few seconds.
    checked_at: str | None = None


class SystemInfo(BaseModel):
    version: str
    environment: str
    settings: dict[str, Any]
    secrets: dict[str, bool] = Field(
        description="Whether each secret is configured, never its value"
    )
    processing: dict[str, Any]
    health: DeepHealth
