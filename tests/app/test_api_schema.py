"""Property-based run of the OpenAPI schema (schemathesis, positive and negative data).

Every operation, bounded examples: no 5xx, every status documented, every body
matching its schema, every error JSON. Real Postgres and moto_server behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import app
from app.settings import Settings
from tests.app.helpers import PNG_BYTES
from tests.app_stack import API_KEY

# 20 examples per operation (positive and negative) keep the run near 30 s on 2 shared cores.
MAX_EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def _seeded_api(app_settings: Callable[..., Settings]) -> Iterator[None]:
    """The real servers behind the app, and something for generated ids to find."""
    app_settings()
    with TestClient(app, headers={"X-API-Key": API_KEY}) as client:
        book_id = client.post("/books", json={"title": "Seed"}).json()["id"]
        client.post(
            f"/books/{book_id}/images",
            files={"file": ("a.png", PNG_BYTES)},
            data={"is_primary": "true"},
        )
        yield


# The schema /openapi.json serves, loaded without starting the app at collection (its
# lifespan reads the settings, which only the fixtures set); calls go to the ASGI app.
schema = schemathesis.openapi.from_dict(app.openapi())
schema.app = app


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the repository
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(headers={"X-API-Key": API_KEY}, checks=CHECKS)
