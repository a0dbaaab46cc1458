"""The load benchmark still runs end to end: a tiny run of `python -m devtools.bench_api`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("path", ["enqueue", "upload"])
def test_small_load_run_verifies_one_job_and_one_message_per_request(path: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "devtools.bench_api",
            "--path",
            path,
            "--requests",
            "24",
            "--concurrency",
            "4",
            "--warmup",
            "4",
            "--books",
            "3",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["errors"] == 0
    assert report["verification"]["jobs_in_database"] == 28
    assert report["verification"]["messages_on_queue"] == 28
    assert report["verification"]["one_job_per_request"]
    assert report["verification"]["one_message_per_job"]
    assert report["p50_ms"] <= report["p99_ms"]
    # CPU over the measured requests only (the warm-up excluded), for both servers.
    assert report["api_cpu_ms_per_request"] > 0
    assert report["moto_server_cpu_ms_per_request"] > 0
