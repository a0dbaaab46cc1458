"""The review page in headless Chromium, against uvicorn and a real worker: the sample book's
results side by side, and a re-run from the page's form that makes a job which completes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from devtools.synthetic_photos import generate_set, load_manifest
from tests import servers
from tests.app_stack import API_KEY, Infrastructure
from tests.browser import headless_chromium
from tests.worker.integration import records
from tests.worker.integration.workers import RunningWorker, worker_env

pytestmark = [pytest.mark.model, pytest.mark.slow]

# Titles are user input: this one must show as text, never become markup.
SAMPLE_TITLE = 'Demo shelf <script>alert("x")</script> & co'


@pytest.fixture
def api_url(worker_settings: Settings, tmp_path: Path) -> Iterator[str]:
    """uvicorn as the image runs it, with the worker's settings and the API key."""
    port = servers.free_port()
    env = worker_env(worker_settings, heartbeat_file=tmp_path / "unused") | {
        "API_KEY": API_KEY,
        "LOG_FORMAT": "text",
    }
    process = servers.start_process(
        [str(servers.VENV_BIN / "uvicorn"), "app.main:app", "--port", str(port)],
        env=env,
        log_path=tmp_path / "api.log",
    )
    try:
        servers.wait_for_port(port, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        servers.stop_process(process)


def _sample_book(api: httpx.Client, infrastructure: Infrastructure, photos: Path) -> list[str]:
    """As `make up` makes it: the demo photos imported as a listing, the others queued."""
    for case in load_manifest(generate_set("demo", photos)):
        key = f"listings/demo-listing/{case.image_path.name}"
        records.put_object(infrastructure, key, case.image_path.read_bytes())
    book_id = api.post("/books", json={"title": SAMPLE_TITLE}).json()["id"]
    imported = api.post(f"/books/{book_id}/imports", json={"listing_id": "demo-listing"}).json()
    jobs = [imported["job"]["id"]]
    for image in imported["images"][1:]:
        jobs.append(api.post(f"/books/{book_id}/images/{image['id']}/process").json()["id"])
    return jobs


def test_review_page_shows_the_sample_book_and_reruns_a_photo(
    api_url: str,
    worker_settings: Settings,
    infrastructure: Infrastructure,
    start_workers: Callable[..., RunningWorker],
    output_dir: Path,
    tmp_path: Path,
) -> None:
    worker = start_workers(worker_settings)
    api = httpx.Client(base_url=api_url, headers={"X-API-Key": API_KEY}, timeout=30)
    job_ids = _sample_book(api, infrastructure, tmp_path / "samples")
    rows = records.wait_for_jobs(job_ids, worker=worker, timeout=300)
    book_id = next(iter(rows.values())).book_id

    # Without the key: refused, with the browser asked for Basic credentials.
    refused = httpx.get(f"{api_url}/review")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Basic ")

    signed_in = api_url.replace("http://", f"http://operator:{API_KEY}@", 1)
    with headless_chromium(tmp_path / "profile") as browser:
        page = browser.open(f"{signed_in}/review?book={book_id}", height=1200)
        shown = page.wait_for(f"document.querySelectorAll('section.job').length >= {len(rows)}")
        assert shown
        assert page.evaluate("document.querySelectorAll('script').length") == 0
        titles = page.evaluate("[...document.querySelectorAll('h2')].map(h => h.textContent)")
        assert all(title.startswith(SAMPLE_TITLE) for title in titles)
        for row in rows.values():
            card = f"document.getElementById('job-{row.id}')"
            assert page.evaluate(f"{card}.dataset.status") == row.status.value
            if row.model_used:
                assert row.model_used in page.evaluate(f"{card}.textContent")
        # The first card's original and result are real images, fetched from their links.
        first = page.evaluate("document.querySelector('section.job').id")
        loaded = (
            f"[...document.querySelectorAll('#{first} img')]"
            ".filter(i => i.complete && i.naturalWidth > 0).length"
        )
        assert page.wait_for(f"{loaded} == 2")
        every = "[...document.images].every(i => i.complete && i.naturalWidth > 0)"
        assert page.wait_for(every, timeout=60)
        shots = output_dir / "review"
        shots.mkdir(exist_ok=True)
        page.screenshot(shots / "review-page.png")
        assert (shots / "review-page.png").stat().st_size > 50_000

        # Re-run the first card's photo with u2net alone on white, from its form.
        form = f"document.querySelector('#{first} form.rerun')"
        page.evaluate(
            f"{form}.model.value = 'u2net'; {form}.backdrop.value = 'white'; "
            f"{form}.querySelector('button').click(); true"
        )
        location = page.wait_for("location.search.includes('queued=') && location.search")
    [new_job] = re.findall(r"queued=([0-9a-f-]{36})", location)
    assert new_job not in job_ids
    [done] = records.wait_for_jobs([new_job], worker=worker).values()
    assert done.status.value == "completed", done
    assert (done.requested_model_chain, done.requested_backdrop) == (["u2net"], "white")
    assert (done.model_used, done.background_color) == ("u2net", "white")
