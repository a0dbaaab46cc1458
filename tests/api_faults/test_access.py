"""Outside ENVIRONMENT=local only liveness and readiness are public (issue 18, defects 4 and
5): every other route, the docs and deep health need the key; deep health is cheap to call
again and again; every answer carries the headers a browser and a cache need."""

from __future__ import annotations

import re
import time
import uuid

from tests.api_faults.stack import ApiStack, another_api

OPEN = {("get", "/health"), ("get", "/health/ready")}


def _routes(api: ApiStack) -> list[tuple[str, str]]:
    """Every (method, path) of the API, path parameters filled in, the docs' own included."""
    with api.client() as client:
        spec = client.get("/openapi.json").raise_for_status().json()
    routes = [("get", "/openapi.json"), ("get", "/docs"), ("get", "/redoc")]
    for path, operations in spec["paths"].items():
        concrete = re.sub(r"\{job_id\}", str(uuid.uuid4()), path)
        concrete = re.sub(r"\{[a-z_]+\}", "1", concrete)
        routes += [(method, concrete) for method in operations]
    return routes


def test_without_the_key_only_liveness_and_readiness_answer(api: ApiStack) -> None:
    routes = _routes(api)
    assert len(routes) >= 12
    with api.client(key=False) as client:
        for method, path in routes:
            response = client.request(method, path)
            if (method, path) in OPEN:
                assert response.status_code == 200, (method, path)
            else:
                assert response.status_code == 401, (method, path, response.status_code)
                assert response.json()["code"] == "invalid_api_key"


def test_public_catalogue_reads_open_book_reads_only(api: ApiStack) -> None:
    book_id = api.create_book("public")
    with (
        another_api(api, PUBLIC_CATALOGUE_READS="true") as public,
        public.client(key=False) as client,
    ):
        assert client.get(f"/books/{book_id}").status_code == 200
        for method, path in (
            ("get", f"/books/{book_id}/jobs"),
            ("get", f"/jobs/{uuid.uuid4()}"),
            ("post", "/books"),
            ("get", "/health/deep"),
            ("get", "/openapi.json"),
        ):
            assert client.request(method, path).status_code == 401, (method, path)


def test_deep_health_is_one_round_of_checks_per_five_seconds(api: ApiStack) -> None:
    head_bucket = len(api.proxies.s3.entries("HEAD bucket"))
    with api.client() as client:
        reports = [client.get("/health/deep").json() for _ in range(20)]
        assert len({report["checked_at"] for report in reports}) == 1
        assert len(api.proxies.s3.entries("HEAD bucket")) - head_bucket == 1
        time.sleep(5.1)
        assert client.get("/health/deep").json()["checked_at"] != reports[0]["checked_at"]


def test_every_answer_carries_the_security_headers(api: ApiStack) -> None:
    book_id = api.create_book("headers")
    with api.client() as client:
        for path in (f"/books/{book_id}", f"/books/{book_id}/jobs", "/health", "/nowhere"):
            headers = client.get(path).headers
            assert headers["X-Content-Type-Options"] == "nosniff", path
            assert headers["Cache-Control"] == "no-store", path
            assert "Strict-Transport-Security" not in headers, path
        behind_tls = client.get(f"/books/{book_id}", headers={"X-Forwarded-Proto": "https"})
    assert behind_tls.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    with api.client(key=False) as client:
        refused = client.get(f"/books/{book_id}")
    assert (refused.status_code, refused.headers["X-Content-Type-Options"]) == (401, "nosniff")
