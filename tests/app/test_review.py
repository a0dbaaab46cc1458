"""The review page in-process: who may see it, what it escapes, its filters, its form's token."""

from __future__ import annotations

import base64
import uuid

from fastapi.testclient import TestClient

from app.db import session_scope
from app.failure_reasons import FailureReason
from app.job_lifecycle import fail_job
from app.review.routes import rerun_token
from app.settings import get_settings
from tests.app.helpers import PNG_BYTES
from tests.app_stack import API_KEY

TITLE = '<img src=x onerror="alert(1)"> & Sons'


def _basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"operator:{password}".encode()).decode()}


def _job(client: TestClient, title: str = TITLE) -> tuple[int, int, str]:
    book_id = int(client.post("/books", json={"title": title}).json()["id"])
    upload = client.post(
        f"/books/{book_id}/images",
        files={"file": ("a.png", PNG_BYTES, "image/png")},
        data={"is_primary": "true"},
    ).json()
    return book_id, int(upload["image"]["id"]), str(upload["job"]["id"])


def test_outside_local_the_page_asks_for_the_key_as_a_basic_password(
    client: TestClient, app_settings
) -> None:
    app_settings(environment="staging")
    anonymous = client.get("/review", headers={"X-API-Key": ""})
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="image-processor review"'
    wrong = client.get("/review", headers={"X-API-Key": "", **_basic("nope")})
    assert wrong.status_code == 401
    assert client.get("/review", headers={"X-API-Key": "", **_basic(API_KEY)}).status_code == 200
    # Basic is for the review page only; the API's routes still want the header.
    assert client.get("/books/1", headers={"X-API-Key": "", **_basic(API_KEY)}).status_code == 401


def test_titles_are_escaped_and_filters_apply(client: TestClient) -> None:
    book_id, _, job_id = _job(client)
    _other_book, _, other_job = _job(client, "Plain")
    with session_scope() as session:
        fail_job(session=session, job_id=uuid.UUID(other_job), reason=FailureReason.invalid_image)
    page = client.get("/review")
    assert page.status_code == 200
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; &amp; Sons" in page.text
    assert "<img src=x" not in page.text
    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'none'
    assert job_id in page.text
    assert other_job in page.text
    failed = client.get("/review", params={"failed": "true"}).text
    assert other_job in failed
    assert job_id not in failed
    assert "invalid_image" in failed
    assert other_job not in client.get("/review", params={"book": book_id}).text


def test_the_rerun_form_needs_its_token_and_reports_a_conflict(client: TestClient) -> None:
    book_id, image_id, job_id = _job(client)
    form = {"book_id": book_id, "image_id": image_id, "backdrop": "white"}
    assert client.post("/review/rerun", data=form | {"token": "forged"}).status_code == 403
    token = rerun_token(get_settings())
    # The upload's job is still active and was asked for nothing: white differs, so 409.
    conflict = client.post("/review/rerun", data=form | {"token": token})
    assert conflict.status_code == 409
    assert "already has active job" in conflict.text
    with session_scope() as session:
        fail_job(session=session, job_id=uuid.UUID(job_id), reason=FailureReason.timeout)
    queued = client.post("/review/rerun", data=form | {"token": token}, follow_redirects=False)
    assert queued.status_code == 303
    assert queued.headers["location"].startswith(f"/review?book={book_id}&queued=")
