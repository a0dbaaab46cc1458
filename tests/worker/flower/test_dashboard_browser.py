"""A headless Chromium opens the dashboard with credentials and sees the live worker."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.browser import chromium_binary
from tests.servers import wait_until
from tests.worker.flower.fleet import FLOWER_PASSWORD, FLOWER_USER, Fleet

pytestmark = pytest.mark.slow


def _chromium_run(binary: str, profile: Path, url: str, *flags: str) -> str:
    done = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--window-size=1440,900",
            "--virtual-time-budget=8000",
            *flags,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_dashboard_shows_the_live_worker_and_its_tasks(
    fleet: Fleet, output_dir: Path, tmp_path: Path
) -> None:
    binary = chromium_binary()
    task_ids = [fleet.app.send_task("worker.tasks.smoke_test").id for _ in range(3)]
    wait_until(
        lambda: all(fleet.flower_tasks().get(t, {}).get("state") == "SUCCESS" for t in task_ids),
        timeout=60,
        what="the tasks in Flower",
    )
    base = fleet.flower_url
    with_credentials = base.replace("http://", f"http://{FLOWER_USER}:{FLOWER_PASSWORD}@", 1)

    refused = _chromium_run(binary, tmp_path / "anonymous", f"{base}/", "--dump-dom")
    assert fleet.worker_name not in refused

    dashboard = _chromium_run(binary, tmp_path / "profile", f"{with_credentials}/", "--dump-dom")
    assert fleet.worker_name in dashboard
    tasks_page = _chromium_run(
        binary, tmp_path / "profile", f"{with_credentials}/tasks", "--dump-dom"
    )
    assert any(task_id in tasks_page for task_id in task_ids)

    shots = output_dir / "flower"
    shots.mkdir(exist_ok=True)
    for page, name in (("/", "flower-dashboard.png"), ("/tasks", "flower-tasks.png")):
        target = shots / name
        target.unlink(missing_ok=True)
        _chromium_run(
            binary,
            tmp_path / "profile",
            f"{with_credentials}{page}",
            f"--screenshot={target}",
            "--hide-scrollbars",
        )
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert target.stat().st_size > 20_000, f"{target} looks blank"
