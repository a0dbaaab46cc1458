"""An operator's overrides through the API and a real worker: the models and the backdrop the
job asked for are the ones its result was made with."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from tests.app_stack import Infrastructure
from tests.corpus import book_photo
from tests.worker.integration import records
from tests.worker.integration.workers import RunningWorker
from worker.models.base import MaskModel
from worker.pipeline import PipelineConfig, process_image_bytes

pytestmark = [pytest.mark.model, pytest.mark.slow]


def _photo() -> bytes:
    buffer = io.BytesIO()
    book_photo((640, 480)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _process(client: TestClient, book_id: int, image_id: int, body: dict[str, object]) -> str:
    response = client.post(f"/books/{book_id}/images/{image_id}/process", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def test_a_job_runs_the_models_and_backdrop_it_asked_for(
    client: TestClient,
    worker_settings: Settings,
    infrastructure: Infrastructure,
    start_workers: Callable[..., RunningWorker],
    reference_models: list[MaskModel],
) -> None:
    photo = _photo()
    automatic = process_image_bytes(
        photo, models=reference_models, config=PipelineConfig.from_settings(worker_settings)
    )
    # The opposite of what the brightness rule picks, so the result can only come from the
    # override.
    forced = "white" if automatic.background == "black" else "black"
    worker = start_workers(worker_settings)

    book_id = records.create_book(client)
    images = [
        records.upload(client, book_id, photo, name=f"{n}.jpg", primary=False).json()["image"]
        for n in range(2)
    ]
    alone = _process(client, book_id, images[0]["id"], {"model_chain": ["u2net"]})
    backdrop = _process(client, book_id, images[1]["id"], {"backdrop": forced})
    rows = records.wait_for_jobs([alone, backdrop], worker=worker)

    assert rows[alone].status.value == "completed", rows[alone]
    assert (rows[alone].model_used, rows[alone].escalated) == ("u2net", False)
    assert rows[alone].requested_model_chain == ["u2net"]
    assert rows[alone].background_color == automatic.background

    assert rows[backdrop].status.value == "completed", rows[backdrop]
    assert rows[backdrop].background_color == forced
    assert rows[backdrop].subject_brightness == pytest.approx(automatic.brightness)
    png, _ = records.get_object(infrastructure, f"books/{book_id}_processed_{backdrop}.png")
    corner = records.decoded(png).convert("RGB").getpixel((0, 0))
    assert corner == ((255, 255, 255) if forced == "white" else (0, 0, 0))
