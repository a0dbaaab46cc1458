"""`image-processor process` as a user runs it: a real subprocess, the real models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from app.settings import Settings
from tests.corpus import bad_inputs

pytestmark = pytest.mark.model
CLI = [sys.executable, "-m", "worker.cli"]
KEYS = {
    "input",
    "status",
    "reason",
    "model",
    "escalated",
    "brightness",
    "background",
    "output",
    "mask",
    "seconds",
}


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "LOG_LEVEL": "WARNING", **(env or {})},
        check=False,
    )


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    for case in bad_inputs():
        (folder / case.filename).write_bytes(case.data)
    return folder


def test_bad_input_corpus_through_the_command(corpus_dir: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.png"
    done = run_cli(
        "process", str(corpus_dir), "--out", str(tmp_path / "out"), "--json", "--save-mask",
        "--contact-sheet", str(sheet), "--model-chain", "u2net,u2netp",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # some inputs fail, none stops the run
    report = json.loads(done.stdout)
    by_name = {Path(entry["input"]).name: entry for entry in report}
    assert len(report) == len(bad_inputs())
    for case in bad_inputs():
        entry = by_name[case.filename]
        assert set(entry) == KEYS
        assert (entry["status"], entry["reason"]) == (case.status, case.reason), case.name
        if case.status == "processed":
            output = Image.open(entry["output"])
            mask = Image.open(entry["mask"])
            assert output.size == mask.size == case.size
            assert mask.mode == "L"
            # The chain is a cascade (worker/pipeline/cascade.py): u2netp only when u2net doubts.
            assert entry["model"] in {"u2net", "u2netp"}
            assert entry["background"] in {"black", "white"}
        else:
            assert f"failed: {entry['input']}: {case.reason}" in done.stderr
    assert "processed," in done.stderr
    assert "failed" in done.stderr
    assert Image.open(sheet).format == "PNG"


def test_all_processed_exits_zero_and_names_outputs_by_stem(tmp_path: Path) -> None:
    (case,) = [case for case in bad_inputs() if case.name == "plain_jpeg"]
    source = tmp_path / "front-cover.jpg"
    source.write_bytes(case.data)
    done = run_cli("process", str(source), "--out", str(tmp_path / "out"), "--json")
    assert done.returncode == 0, done.stderr
    (entry,) = json.loads(done.stdout)
    assert entry["output"] == str(tmp_path / "out" / "front-cover.png")
    assert entry["mask"] is None
    assert not (tmp_path / "out" / "front-cover.mask.png").exists()


def test_a_folder_names_every_file_it_skips(tmp_path: Path) -> None:
    (case,) = [case for case in bad_inputs() if case.name == "plain_jpeg"]
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cover.jpg").write_bytes(case.data)
    Image.new("RGB", (64, 48), "white").save(folder / "scan.ppm")  # Pillow reads it; we do not
    (folder / "notes.txt").write_text("shelf 4")
    (folder / "cover.mask.png").write_bytes(b"")  # a mask an earlier run wrote
    done = run_cli("process", str(folder), "--out", str(tmp_path / "out"), "--json")
    assert done.returncode == 0, done.stderr
    assert [entry["input"] for entry in json.loads(done.stdout)] == [str(folder / "cover.jpg")]
    assert f"skipped: {folder / 'scan.ppm'}: .ppm is not an image type it reads" in done.stderr
    assert f"skipped: {folder / 'notes.txt'}: .txt is not an image type it reads" in done.stderr
    assert f"skipped: {folder / 'cover.mask.png'}: a mask written by --save-mask" in done.stderr
    assert "1 processed, 0 failed, 3 skipped" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("process", "/no/such/file.jpg", "--out", "/tmp/x"),
        ("process", "--out", "/tmp/x"),
        ("process", "."),
        ("frobnicate",),
    ],
    ids=["missing-path", "no-path", "no-out", "unknown-command"],
)
def test_usage_errors_exit_two(args: tuple[str, ...]) -> None:
    assert run_cli(*args).returncode == 2


def test_missing_model_refuses_to_start(tmp_path: Path) -> None:
    (case,) = [case for case in bad_inputs() if case.name == "plain_jpeg"]
    (tmp_path / "book.jpg").write_bytes(case.data)
    done = run_cli(
        "process", str(tmp_path / "book.jpg"), "--out", str(tmp_path / "out"),
        env={"U2NET_HOME": str(tmp_path / "empty")},
    )  # fmt: skip
    assert done.returncode == 2
    first_of_the_default_chain = Settings.model_fields["model_chain"].default[0]
    assert f"model '{first_of_the_default_chain}' is missing" in done.stderr
    assert not (tmp_path / "out").exists()
