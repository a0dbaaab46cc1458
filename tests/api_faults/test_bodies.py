"""Bodies are bounded while they stream, and refused on their headers without the key
(issue 18, defect 1): a hostile client's chunked body of ten times the limit costs the API at
most the limit plus one read buffer, no spooled files and no memory."""

from __future__ import annotations

import pytest

from app.limits import MULTIPART_OVERHEAD_BYTES
from tests.api_faults.raw_http import (
    Streamed,
    ask_with_length,
    multipart_preamble,
    stream_chunked,
)
from tests.api_faults.stack import ApiStack, record_figures
from tests.app_stack import API_KEY

# One read of uvicorn's: asyncio hands it at most 256 KiB per receive, and it stops reading
# once 64 KiB wait unread; the kernel's count includes the request's head.
READ_BUFFER = 256 * 1024 + 64 * 1024
BOUNDARY = "hostile-boundary"
UPLOAD_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def _upload(api: ApiStack, book_id: int, *, key: bool, total: int) -> Streamed:
    headers = {"Content-Type": UPLOAD_TYPE} | ({"X-API-Key": API_KEY} if key else {})
    return stream_chunked(
        api.port,
        f"/books/{book_id}/images",
        headers=headers,
        preamble=multipart_preamble(BOUNDARY),
        total=total,
    )


def _json(api: ApiStack, *, key: bool, total: int) -> Streamed:
    headers = {"Content-Type": "application/json"} | ({"X-API-Key": API_KEY} if key else {})
    return stream_chunked(api.port, "/books", headers=headers, preamble=b'{"title": "', total=total)


@pytest.mark.parametrize("key", [False, True], ids=["no-key", "key"])
def test_an_upload_of_ten_times_the_limit_is_cut_off(api: ApiStack, key: bool) -> None:
    book_id = api.create_book()
    limit = api.settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES
    rss_before = api.rss_mb()
    streamed = _upload(api, book_id, key=key, total=10 * api.settings.max_upload_bytes)
    expected = (413, b"payload_too_large") if key else (401, b"invalid_api_key")
    assert streamed.status == expected[0], streamed
    assert expected[1] in streamed.answer
    # Without the key nothing of the body is read; with it, no more than the limit allows.
    assert streamed.server_read <= (limit if key else 0) + READ_BUFFER, streamed
    assert list(api.spool.iterdir()) == []  # nothing left spooled
    growth = api.rss_mb() - rss_before
    assert growth <= 20, f"the API grew by {growth:.1f} MB"
    record_figures(
        f"chunked upload, {'key' if key else 'no key'}",
        sent_mb=round(streamed.sent / 2**20, 1),
        read_mb=round(streamed.server_read / 2**20, 2),
        rss_growth_mb=round(growth, 1),
        seconds=round(streamed.seconds, 2),
    )
    with api.client() as client:
        assert client.get(f"/books/{book_id}").json()["images"] == []


@pytest.mark.parametrize("key", [False, True], ids=["no-key", "key"])
def test_a_json_body_of_ten_times_its_limit_is_cut_off(api: ApiStack, key: bool) -> None:
    limit = api.settings.max_json_body_bytes
    rss_before = api.rss_mb()
    streamed = _json(api, key=key, total=200 * 2**20)
    assert streamed.status == (413 if key else 401), streamed
    assert streamed.server_read <= (limit if key else 0) + READ_BUFFER, streamed
    growth = api.rss_mb() - rss_before
    assert growth <= 20, f"the API grew by {growth:.1f} MB"
    record_figures(
        f"chunked 200 MB JSON, {'key' if key else 'no key'}",
        read_mb=round(streamed.server_read / 2**20, 2),
        rss_growth_mb=round(growth, 1),
    )


def test_a_content_length_past_the_limit_is_refused_before_the_body(api: ApiStack) -> None:
    book_id = api.create_book()
    answer = ask_with_length(
        api.port,
        f"/books/{book_id}/images",
        headers={"Content-Type": UPLOAD_TYPE, "X-API-Key": API_KEY},
        length=api.settings.max_upload_bytes * 2,
    )
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert b"payload_too_large" in answer
