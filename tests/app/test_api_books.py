"""Books, the API key, and the error format."""

from __future__ import annotations

import hmac

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app import access
from app.db import session_scope
from app.models import Book
from tests.app_stack import API_KEY


def _book_count() -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(Book)) or 0)


def test_create_and_read_a_book(client: TestClient) -> None:
    response = client.post("/books", json={"title": "  The Name of the Rose "})
    assert response.status_code == 201
    book = response.json()
    assert book["title"] == "The Name of the Rose"
    assert client.get(f"/books/{book['id']}").json() == {**book, "images": []}


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"X-API-Key": API_KEY + "x"}])
def test_wrong_or_missing_key_is_401_and_changes_nothing(
    client: TestClient, headers: dict[str, str]
) -> None:
    client.headers.pop("X-API-Key")
    response = client.post("/books", json={"title": "Dune"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"
    assert _book_count() == 0


def test_key_is_compared_in_constant_time(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real_compare_digest = hmac.compare_digest

    def _spy(given: bytes, expected: bytes) -> bool:
        compared.append((given, expected))
        return real_compare_digest(given, expected)

    monkeypatch.setattr(access.hmac, "compare_digest", _spy)
    assert client.post("/books", json={"title": "Dune"}).status_code == 201
    assert (
        client.post("/books", json={"title": "Dune"}, headers={"X-API-Key": "no"}).status_code
        == 401
    )
    # The gate before the body, then the route's own check; a wrong key stops at the gate.
    expected = API_KEY.encode()
    assert compared == [(expected, expected), (expected, expected), (b"no", expected)]


def test_reads_need_the_key_unless_catalogue_reads_are_public(
    client: TestClient, app_settings
) -> None:
    book = client.post("/books", json={"title": "Dune"}).json()
    client.headers.pop("X-API-Key")
    response = client.get(f"/books/{book['id']}")
    assert (response.status_code, response.json()["code"]) == (401, "invalid_api_key")
    app_settings(public_catalogue_reads=True)
    assert client.get(f"/books/{book['id']}").status_code == 200
    assert client.get(f"/books/{book['id']}/jobs").status_code == 401


def test_local_environment_without_a_key_is_open(app_settings) -> None:
    app_settings(environment="local", api_key=None)
    from app.main import app

    with TestClient(app) as local:
        assert local.post("/books", json={"title": "Dune"}).status_code == 201


def test_api_refuses_to_start_without_a_key_outside_local(app_settings) -> None:
    from app.main import ApiConfigurationError, app

    for unset in (None, ""):
        app_settings(environment="production", api_key=unset)
        with pytest.raises(ApiConfigurationError, match="API_KEY is required"), TestClient(app):
            pass


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("get", "/books/999", None, 404, "book_not_found"),
        ("get", "/books/0", None, 422, "validation_error"),
        ("get", "/books/99999999999", None, 422, "validation_error"),
        ("get", "/books/abc", None, 422, "validation_error"),
        ("post", "/books", {"title": ""}, 422, "validation_error"),
        ("post", "/books", {"title": "nul\u0000byte"}, 422, "validation_error"),
        ("post", "/books", {}, 422, "validation_error"),
        ("get", "/no/such/route", None, 404, "not_found"),
        ("delete", "/books", None, 405, "method_not_allowed"),
    ],
)
def test_errors_are_json_with_a_stable_code(
    client: TestClient, method: str, path: str, body: object, status: int, code: str
) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == code
    assert response.json()["message"]
