"""Liveness, deep health (with the DLQ count), and the admin system information."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from app.health import queue_depths
from app.migrate import alembic_config
from app.settings import Settings
from tests import servers
from tests.app_stack import API_KEY, Infrastructure

DB_PASSWORD = "db-password-never-shown"


def test_liveness_does_no_io(app_settings: Callable[..., Settings]) -> None:
    # Nothing behind the API answers, and liveness still does.
    dead = f"http://127.0.0.1:{servers.free_port()}"
    app_settings(database_url="postgresql://nobody@127.0.0.1:1/none", aws_endpoint_url=dead)
    from app.main import app

    with TestClient(app, headers={"X-API-Key": API_KEY}) as client:
        assert client.get("/health").json() == {"status": "ok"}


def test_readiness_answers_while_the_database_does(client: TestClient) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"]["status"] == "ok"


def test_readiness_is_503_without_the_database(app_settings: Callable[..., Settings]) -> None:
    app_settings(database_url=f"postgresql://postgres@127.0.0.1:{servers.free_port()}/x")
    from app.main import app

    with TestClient(app, headers={"X-API-Key": API_KEY}) as client:
        response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["database"]["error"] == "OperationalError"


def test_deep_health_ok_with_queue_counts(client: TestClient) -> None:
    report = client.get("/health/deep").json()
    assert report["status"] == "ok", report
    assert report["failing"] == []
    checks = report["checks"]
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert checks["database"]["migration"] == head  # migrated to the newest revision
    assert checks["queue"]["queue"]["messages"] == 0
    assert checks["queue"]["dead_letter_queue"]["messages"] == 0
    assert checks["event_bus"]["status"] == "skipped"


def test_dlq_messages_appear_in_deep_health(
    client: TestClient, infrastructure: Infrastructure
) -> None:
    sqs = infrastructure.sqs()
    for _ in range(2):
        sqs.send_message(QueueUrl=infrastructure.dlq_url, MessageBody="dead")
    sqs.send_message(QueueUrl=infrastructure.queue_url, MessageBody="waiting")
    response = client.get("/health/deep")
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "degraded"
    assert report["failing"] == ["queue"]
    queue = report["checks"]["queue"]
    assert queue["dead_letter_queue"]["messages"] == 2
    assert queue["queue"]["messages"] == 1
    assert "dead-letter" in queue["reason"]


def test_queue_depths_is_reusable(
    app_settings: Callable[..., Settings], infrastructure: Infrastructure
) -> None:
    settings = app_settings()
    infrastructure.sqs().send_message(QueueUrl=infrastructure.dlq_url, MessageBody="dead")
    depths = queue_depths(settings)
    assert depths["dead_letter_queue"] == {
        "name": f"{infrastructure.queue_name}-dlq",
        "messages": 1,
        "in_flight": 0,
        "delayed": 0,
    }


def test_database_down_is_unhealthy_and_named(app_settings: Callable[..., Settings]) -> None:
    app_settings(database_url=f"postgresql://postgres@127.0.0.1:{servers.free_port()}/x")
    from app.main import app

    with TestClient(app, headers={"X-API-Key": API_KEY}) as client:
        response = client.get("/health/deep")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["failing"] == ["database"]


def test_missing_queue_and_dead_event_bus_are_degraded(
    app_settings: Callable[..., Settings],
) -> None:
    app_settings(
        image_processing_queue_name="no-such-queue",
        events_broker_url=f"redis://127.0.0.1:{servers.free_port()}/0",
    )
    from app.main import app

    with TestClient(app, headers={"X-API-Key": API_KEY}) as client:
        report = client.get("/health/deep").json()
    assert report["status"] == "degraded"
    assert report["failing"] == ["queue", "event_bus"]


def test_event_bus_is_pinged_when_configured(app_settings: Callable[..., Settings]) -> None:
    app_settings(events_broker_url=servers.REDIS_URL)
    from app.main import app

    with TestClient(app, headers={"X-API-Key": API_KEY}) as client:
        checks = client.get("/health/deep").json()["checks"]
    # Redis is one of the servers every test machine runs (.ci/services starts it if down).
    assert checks["event_bus"]["status"] == "ok", checks["event_bus"]


def test_system_info_shows_settings_and_constants_but_no_secret(
    app_settings: Callable[..., Settings], database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Postgres here trusts every password, so a URL with one still connects.
    with_password = make_url(database_url).set(password=DB_PASSWORD)
    app_settings(database_url=with_password.render_as_string(hide_password=False))
    from app.main import app

    caplog.set_level(logging.DEBUG, logger="app")
    with TestClient(app, headers={"X-API-Key": API_KEY}) as client:
        assert client.get("/admin/system-info", headers={"X-API-Key": "x"}).status_code == 401
        response = client.get("/admin/system-info")
    assert response.status_code == 200
    info = response.json()
    assert info["environment"] == "test"
    assert info["version"]
    assert info["processing"]["model_chain"]
    assert "brightness_threshold" in info["processing"]
    assert info["settings"]["s3_images_prefix"] == "books/"
    assert info["secrets"] == {
        "database_url": True,
        "events_broker_url": False,
        "flower_basic_auth": False,
        "api_key": True,
    }
    assert info["health"]["checks"]["database"]["status"] == "ok"
    for secret in (DB_PASSWORD, API_KEY):
        assert secret not in response.text
        assert secret not in caplog.text
