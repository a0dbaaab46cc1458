"""tests/ci_skips.py, run by a real pytest on a test that skips: a failure on CI only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.parametrize(
    ("ci", "exit_code", "summary"), [("true", 1, "1 failed"), ("", 0, "1 skipped")]
)
def test_a_skip_fails_on_ci_only(tmp_path: Path, ci: str, exit_code: int, summary: str) -> None:
    (tmp_path / "test_skips.py").write_text(
        "import pytest\n\ndef test_needs_a_server():\n    pytest.skip('no server here')\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.ci_skips",
            "-p",
            "no:cacheprovider",
            "-c",
            os.devnull,
            str(tmp_path),
        ],
        cwd=tmp_path,
        env={**os.environ, "CI": ci, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == exit_code, done.stdout + done.stderr
    assert summary in done.stdout
    if ci:
        assert "skipped on CI, which counts as a failure: Skipped: no server here" in done.stdout
