"""A hung S3, SQS or Postgres costs the requests that need it a 503 within the bound, and
nothing else (issue 18, defect 2). The API runs with the production timeouts: the bound
measured here is the one docs/operations.md states.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.api_faults.stack import ApiStack, another_api, record_figures
from tests.faults.http_requests import operation_is
from tests.faults.proxy import Fault, FaultKind
from tests.worker.integration.faults.stack import jpeg

# Every request meeting one hung dependency ends within this (docs/operations.md, "The API
# under faults"): two AWS attempts of a 5 s read, a 12 s database answer, a 5 s pool wait.
BOUND_S = 15.0
UPLOADS = 50


@dataclass(frozen=True)
class Answer:
    status: int
    code: str
    seconds: float
    retry_after: str | None

    @classmethod
    def timed(cls, request: Callable[[], httpx.Response]) -> Answer:
        started = time.monotonic()
        response = request()
        code = response.json().get("code", "") if response.status_code >= 400 else ""
        seconds = time.monotonic() - started
        return cls(response.status_code, code, seconds, response.headers.get("Retry-After"))


def _upload(api: ApiStack, book_id: int, data: bytes) -> Answer:
    with api.client(timeout=3 * BOUND_S) as client:
        return Answer.timed(
            lambda: client.post(
                f"/books/{book_id}/images",
                files={"file": ("photo.jpg", data, "image/jpeg")},
                data={"is_primary": "true"},
            )
        )


class Reader(threading.Thread):
    """GET /books/{id} every 50 ms while it runs: each status and latency."""

    def __init__(self, api: ApiStack, book_id: int) -> None:
        super().__init__(daemon=True)
        self.api, self.book_id = api, book_id
        self.answers: list[tuple[int, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        with self.api.client(timeout=3 * BOUND_S) as client:
            while not self.done.is_set():
                started = time.monotonic()
                status = client.get(f"/books/{self.book_id}").status_code
                self.answers.append((status, time.monotonic() - started))
                time.sleep(0.05)

    def p99_ms(self) -> float:
        latencies = sorted(latency for _, latency in self.answers)
        return round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 1)


def _idle_in_transaction(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND state LIKE 'idle in transaction%'"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _while_reading(api: ApiStack, book_id: int, action: Callable[[], list[Answer]]):
    reader = Reader(api, book_id)
    reader.start()
    try:
        answers = action()
    finally:
        reader.done.set()
        reader.join(timeout=3 * BOUND_S)
    return answers, reader


def test_a_hung_s3_fails_fifty_uploads_in_time_and_reads_go_on(api: ApiStack) -> None:
    books = [api.create_book(f"hung-s3-{n}") for n in range(UPLOADS)]
    read_book = api.create_book("read while S3 hangs")
    photo = jpeg()
    held_open: list[int] = []

    def fifty_uploads() -> list[Answer]:
        with ThreadPoolExecutor(UPLOADS) as pool:
            futures = [pool.submit(_upload, api, book, photo) for book in books]
            time.sleep(BOUND_S / 2)  # the uploads are waiting on S3 now
            held_open.append(_idle_in_transaction(api.database_url))
            return [future.result() for future in futures]

    with api.proxies.s3.injected(Fault(FaultKind.hang, match=operation_is("PutObject"))):
        answers, reader = _while_reading(api, read_book, fifty_uploads)

    assert held_open == [0], "a transaction was held open across the upload"
    assert {(a.status, a.code) for a in answers} <= {
        (503, "storage_unavailable"),
        (503, "uploads_busy"),
    }, answers
    assert all(answer.retry_after for answer in answers)
    slowest = max(answer.seconds for answer in answers)
    assert slowest <= BOUND_S, f"the slowest upload took {slowest:.1f} s"
    assert reader.answers
    assert {status for status, _ in reader.answers} == {200}
    with api.client() as client:
        for book in books:  # nothing was kept of a failed upload
            assert client.get(f"/books/{book}").json()["images"] == []
    assert _upload(api, books[0], photo).status == 201  # S3 back: uploads work again
    record_figures(
        "50 uploads, S3 PutObject hung",
        bound_s=BOUND_S,
        slowest_upload_s=round(slowest, 1),
        storage_unavailable=sum(a.code == "storage_unavailable" for a in answers),
        uploads_busy=sum(a.code == "uploads_busy" for a in answers),
        reads=len(reader.answers),
        read_p99_ms=reader.p99_ms(),
    )


def test_a_hung_sqs_leaves_the_upload_queued_for_the_sweep_in_time(api: ApiStack) -> None:
    book = api.create_book("hung sqs")
    read_book = api.create_book("read while SQS hangs")
    with api.proxies.sqs.injected(Fault(FaultKind.hang, match=operation_is("SendMessage"))):
        answers, reader = _while_reading(api, read_book, lambda: [_upload(api, book, jpeg())])
    (answer,) = answers
    assert answer.status == 201, answer
    assert answer.seconds <= BOUND_S, answer
    with api.client() as client:
        (job,) = client.get(f"/books/{book}/jobs").json()["items"]
    assert (job["status"], job["failure_reason"]) == ("queue_failed", "publish_failed")
    assert {status for status, _ in reader.answers} == {200}
    record_figures(
        "upload, SQS SendMessage hung",
        upload_s=round(answer.seconds, 1),
        read_p99_ms=reader.p99_ms(),
    )


@pytest.mark.parametrize("requests", [30], ids=["30-reads"])
def test_a_hung_database_answers_503_in_time_and_the_pool_recovers(
    api: ApiStack, requests: int
) -> None:
    book = api.create_book("hung database")

    def read(client: httpx.Client) -> Answer:
        return Answer.timed(lambda: client.get(f"/books/{book}"))

    with (
        api.client(timeout=3 * BOUND_S, keep_alive=False) as client,
        ThreadPoolExecutor(requests) as pool,
    ):
        # Every pooled connection opened first: a slow database makes each read hold its own.
        with api.proxies.postgres.injected(Fault(FaultKind.slow, delay_s=0.3)):
            warm = list(pool.map(lambda _: read(client), range(requests)))
        assert {answer.status for answer in warm} == {200}
        api.proxies.postgres.inject(Fault(FaultKind.hang))
        try:
            answers = list(pool.map(lambda _: read(client), range(requests)))
        finally:
            api.proxies.postgres.heal()
        codes = {(a.status, a.code) for a in answers}
        # More requests than pooled connections: those without one are told the pool is full.
        assert codes <= {(503, "database_unavailable"), (503, "database_busy")}, answers
        assert (503, "database_busy") in codes
        assert all(answer.retry_after for answer in answers)
        slowest = max(answer.seconds for answer in answers)
        assert slowest <= BOUND_S, f"the slowest read took {slowest:.1f} s"
        deadline = time.monotonic() + 30  # the silenced connections were dropped; new ones work
        while read(client).status != 200:
            assert time.monotonic() < deadline, "the API did not recover from the hung database"
            time.sleep(0.5)
    record_figures(
        "30 reads, Postgres hung",
        slowest_s=round(slowest, 1),
        database_busy=sum(a.code == "database_busy" for a in answers),
        database_unavailable=sum(a.code == "database_unavailable" for a in answers),
    )


def test_an_upload_given_up_at_its_bound_stores_nothing_when_s3_answers_late(
    api: ApiStack,
) -> None:
    """S3 answers each PutObject after 3 s (inside the 5 s read timeout); the API gives up on
    an upload at 1.5 s: the client hears 503 then, and the object S3 stores late is deleted, no
    row is written, so the client's retry makes the only copy."""
    book = api.create_book("S3 late")
    late_put = Fault(FaultKind.slow, match=operation_is("PutObject"), delay_s=3.0)
    with another_api(api, API_UPLOAD_BOUND_SECONDS="1.5") as bounded:
        with api.proxies.s3.injected(late_put):
            answer = _upload(bounded, book, jpeg())
            time.sleep(3.0 + 1.0)  # S3 stores the object; the abandoned upload deletes it
        assert (answer.status, answer.code) == (503, "storage_unavailable"), answer
        assert answer.retry_after
        assert answer.seconds < 3.0, answer  # the bound answered, not S3
        with api.client() as client:
            assert client.get(f"/books/{book}").json()["images"] == []
        assert api.objects(f"books/{book}/") == []
        assert _upload(bounded, book, jpeg()).status == 201  # S3 on time: the upload is kept
        assert len(api.objects(f"books/{book}/")) == 1
