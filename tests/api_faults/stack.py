"""The API as it runs in ECS: a uvicorn process with its S3, SQS and Postgres each behind a
FaultProxy (tests/faults/proxy.py), and the production timeouts, so that the bound a test
measures is the one docs/operations.md states.

The test process talks to the servers directly (rows, objects, pg_stat_activity) whatever the
proxies are doing.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from app.settings import Settings
from tests import servers
from tests.app_stack import API_KEY, Infrastructure
from tests.faults.proxy import FaultProxy

# Where the figures a test measured go, for docs/operations.md.
FIGURES_FILE = Path(__file__).resolve().parents[2] / "test-output" / "api-faults.jsonl"


@dataclass
class ApiProxies:
    s3: FaultProxy
    sqs: FaultProxy
    postgres: FaultProxy

    def all(self) -> list[FaultProxy]:
        return [self.s3, self.sqs, self.postgres]

    def heal(self) -> None:
        for proxy in self.all():
            proxy.heal()


@dataclass
class ApiStack:
    settings: Settings  # the test's own: straight to the servers
    infrastructure: Infrastructure
    proxies: ApiProxies
    database_url: str
    env: dict[str, str]
    logs: Path
    spool: Path  # the API's TMPDIR: where it spools uploads
    process: subprocess.Popen[bytes]
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(
        self, *, key: bool = True, timeout: float = 60, keep_alive: bool = True
    ) -> httpx.Client:
        """An HTTP client of the API; without keep-alive, a connection per request (uvicorn
        closes an idle one after 5 s, and a request sent just then would meet the close)."""
        headers = {"X-API-Key": API_KEY} if key else {}
        limits = httpx.Limits(max_keepalive_connections=None if keep_alive else 0)
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, limits=limits)

    def create_book(self, title: str = "hostile") -> int:
        with self.client() as api:
            return int(api.post("/books", json={"title": title}).raise_for_status().json()["id"])

    def rss_mb(self) -> float:
        """The API process's resident memory now."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    def objects(self, prefix: str) -> list[str]:
        """The bucket's keys under `prefix`, read from moto directly (no proxy)."""
        listing = self.infrastructure.s3().list_objects_v2(
            Bucket=self.infrastructure.bucket, Prefix=prefix
        )
        return [item["Key"] for item in listing.get("Contents", [])]

    def log(self) -> str:
        return (self.logs / "api.log").read_text(errors="replace")

    def alive(self) -> None:
        assert self.process.poll() is None, self.log()[-4000:]


def start_api(
    *,
    infrastructure: Infrastructure,
    proxies: ApiProxies,
    database_url: str,
    logs: Path,
    **extra_env: str,
) -> tuple[subprocess.Popen[bytes], int, dict[str, str], Path]:
    """uvicorn as the image runs it, through the proxies; stopped with servers.stop_process."""
    spool = logs / f"spool-{servers.free_port()}"
    spool.mkdir()
    env = {
        "DATABASE_URL": database_url.replace(":5432/", f":{proxies.postgres.port}/"),
        "AWS_ENDPOINT_URL_S3": proxies.s3.url,
        "AWS_ENDPOINT_URL_SQS": proxies.sqs.url,
        "API_KEY": API_KEY,
        "LOG_FORMAT": "text",
        "TMPDIR": str(spool),
        **extra_env,
    }
    port = servers.free_port()
    process = servers.start_process(
        [
            str(servers.VENV_BIN / "uvicorn"),
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        log_path=logs / "api.log",
    )
    servers.wait_for_port(port, process=process)
    return process, port, env, spool


@contextmanager
def another_api(stack: ApiStack, **extra_env: str) -> Iterator[ApiStack]:
    """A second API process with the stack's settings and `extra_env`; stopped afterwards."""
    process, port, env, spool = start_api(
        infrastructure=stack.infrastructure,
        proxies=stack.proxies,
        database_url=stack.database_url,
        logs=stack.logs,
        **extra_env,
    )
    try:
        yield ApiStack(
            stack.settings,
            stack.infrastructure,
            stack.proxies,
            stack.database_url,
            env,
            stack.logs,
            spool,
            process,
            port,
        )
    finally:
        servers.stop_process(process)


def record_figures(test: str, **figures: Any) -> None:
    FIGURES_FILE.parent.mkdir(exist_ok=True)
    with FIGURES_FILE.open("a") as out:
        out.write(json.dumps({"test": test, "at": time.time(), **figures}) + "\n")
