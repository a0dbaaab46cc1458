"""GET /review (recent jobs, filtered) and POST /review/rerun (the re-run button's form).

Plain `def` routes: an operator's page, not the hot path; FastAPI runs them on its threads.
The form carries a token derived from the API key, so another site cannot make a logged-in
browser post it (the browser would send its Basic credentials along by itself).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from app.access import configured_api_key
from app.api.deps import MAX_ID, SessionDep, SettingsDep, StorageDep
from app.errors import ApiError
from app.processing_overrides import ProcessingOverrides
from app.reprocess import describe, reprocess_image, requested_overrides
from app.review.queries import MAX_JOBS, ReviewFilters, ReviewRow, recent_jobs
from app.settings import Settings
from app.storage import Storage

router = APIRouter(prefix="/review", tags=["review"], include_in_schema=False)

# How long an image link on the page works: long enough to look at a page, short enough that a
# copied link dies soon.
LINK_SECONDS = 900
# No script at all; styles inline; images from wherever the storage links to; forms post here.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src 'self' http: https:; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Without API_KEY (local only) the token is this process's own secret.
_PROCESS_SECRET = secrets.token_bytes(32)


@lru_cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("app.review", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
    )


def rerun_token(settings: Settings) -> str:
    key = configured_api_key(settings)
    secret = key.encode() if key is not None else _PROCESS_SECRET
    return hmac.new(secret, b"review-rerun", hashlib.sha256).hexdigest()


@router.get("", response_class=HTMLResponse)
def review_page(
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    failed: bool = False,
    escalated: bool = False,
    book: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_JOBS)] = 30,
    queued: uuid.UUID | None = None,
) -> HTMLResponse:
    filters = ReviewFilters(failed=failed, escalated=escalated, book_id=book, limit=limit)
    rows = recent_jobs(session=session, filters=filters)
    return _render(settings, storage, rows, filters=filters, queued=queued)


@router.post("/rerun", response_model=None)
def rerun(
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    book_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    image_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    token: Annotated[str, Form(max_length=128)],
    model: Annotated[str, Form(max_length=100)] = "",
    backdrop: Annotated[str, Form(max_length=10)] = "auto",
) -> HTMLResponse | RedirectResponse:
    """The button: a new job for the image with the chosen overrides, then back to its book."""
    if not hmac.compare_digest(token, rerun_token(settings)):
        raise ApiError(403, "invalid_form_token", "the form's token is missing or wrong")
    try:
        overrides = requested_overrides(
            model_chain=[model] if model else None, backdrop=backdrop, settings=settings
        )
        job = reprocess_image(
            session=session, book_id=book_id, image_id=image_id, overrides=overrides
        )
    except ApiError as refused:
        filters = ReviewFilters(book_id=book_id)
        rows = recent_jobs(session=session, filters=filters)
        page = _render(settings, storage, rows, filters=filters, refusal=refused.message)
        page.status_code = refused.status_code
        return page
    return RedirectResponse(f"/review?book={book_id}&queued={job.id}", status_code=303)


def _render(
    settings: Settings,
    storage: Storage,
    rows: list[ReviewRow],
    *,
    filters: ReviewFilters,
    queued: uuid.UUID | None = None,
    refusal: str | None = None,
) -> HTMLResponse:
    html = (
        _templates()
        .get_template("review.html")
        .render(
            jobs=[_job_view(row, storage) for row in rows],
            filters=filters,
            models=settings.model_chain,
            token=rerun_token(settings),
            queued=queued,
            refusal=refusal,
        )
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY})


def _job_view(row: ReviewRow, storage: Storage) -> dict[str, Any]:
    job = row.job
    asked = ProcessingOverrides.of_job(job.requested_model_chain, job.requested_backdrop)
    return {
        "job": job,
        "title": row.title,
        "original": storage.link(row.source_key, expires_in=LINK_SECONDS),
        "result": storage.link(row.result_key, expires_in=LINK_SECONDS) if row.result_key else None,
        "asked": None if asked.is_default else describe(asked),
    }
