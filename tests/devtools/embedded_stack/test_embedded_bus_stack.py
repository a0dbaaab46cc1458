"""`make demo` and `make up` on a machine where no Redis answers: the stack starts its own
valkey-server, Flower shows the worker and its tasks through it, nothing imports rembg, and
every process the stack started, the server too, is gone when it stops.

"No Redis" is a free port handed to `--redis-port` (the recipe's flag for the port to probe):
the suite's Redis on 6379 keeps serving the other tests. The commands are the Makefile's own
recipes, run with PYTHONPROFILEIMPORTTIME=1, so that every Python process of the stack writes
each module it imports to its log: the proof that none of them imports rembg.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from devtools.embedded_stack.up import READY_LINE
from tests import servers
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.model, pytest.mark.slow]

RUN_TIMEOUT_S = 600  # photos generated, models loaded and six photos processed on 2 cores
STOP_TIMEOUT_S = 120
PYTHON_PROCESSES = ("api", "beat", "flower", "migrate", "moto", "worker")
# rembg and the alpha-matting stack only it brings (docs/deployment.md, "A lean worker").
REFERENCE_ONLY = re.compile(r"\|\s+(rembg|pymatting)(\.|$)", re.MULTILINE)


def recipe(target: str) -> list[str]:
    """The Makefile's recipe for `target`, $(BIN) being this venv's bin/."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    found = re.search(rf"^{target}:.*\n\t(.+)$", makefile, re.MULTILINE)
    assert found, f"the Makefile has no `{target}` target"
    return shlex.split(found.group(1).replace("$(BIN)", str(servers.VENV_BIN)))


def without_redis(target: str, out: Path) -> list[str]:
    """The recipe with its own out/ folder and, as the events bus to probe, a port where
    nothing listens (the last --out wins)."""
    return [*recipe(target), "--out", str(out), "--redis-port", str(servers.free_port())]


def profiled_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPROFILEIMPORTTIME": "1", "PYTHONUNBUFFERED": "1"}


def assert_no_process_imported_rembg(logs: Path, own_output: str) -> None:
    for name in PYTHON_PROCESSES:
        text = (logs / f"{name}.log").read_text(errors="replace")
        assert "import time:" in text, f"{name}: no import profile, so nothing was checked"
        assert not REFERENCE_ONLY.search(text), f"{name} imported rembg's stack ({logs})"
    assert "import time:" in own_output
    assert not REFERENCE_ONLY.search(own_output)


def embedded_bus_pid(logs: Path) -> int:
    """The valkey-server's PID, as it wrote it when it started."""
    found = re.search(r"Valkey version=\S+ .*pid=(\d+)", (logs / "events-bus.log").read_text())
    assert found, f"no embedded valkey-server started ({logs})"
    return int(found.group(1))


def test_make_demo_and_up_do_not_run_the_rembg_warmup() -> None:
    for target in ("demo", "up"):
        planned = subprocess.run(
            ["make", "-n", target],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        assert "devtools.embedded_stack" in planned, planned
        assert "rembg" not in planned, f"`make {target}` would run:\n{planned}"


def test_make_demo_without_redis_starts_and_stops_its_bus_and_imports_no_rembg(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        without_redis("demo", tmp_path),
        cwd=REPO_ROOT,
        env=profiled_env(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    printed = done.stdout + done.stderr
    assert done.returncode == 0, printed[-4000:]
    logs = tmp_path / "demo-stack" / "logs"
    assert "Ready to accept connections" in (logs / "events-bus.log").read_text()
    assert "Connected to redis://" in (logs / "flower.log").read_text()
    assert not psutil.pid_exists(embedded_bus_pid(logs)), "the embedded server outlived the demo"
    assert_no_process_imported_rembg(logs, printed)


class Output:
    """Everything the command prints, read on a thread so its pipe never fills."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._reader.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.strip() == READY_LINE:
                self.ready.set()

    def text(self) -> str:
        return "\n".join(self.lines)

    def value(self, pattern: str) -> re.Match[str]:
        found = re.search(pattern, self.text(), re.MULTILINE)
        assert found, f"{pattern!r} not in what `make up` printed"
        return found


@pytest.fixture
def make_up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Output]]:
    """`make up`'s command with no Redis to find; stopped by PID whatever the test does."""
    process = subprocess.Popen(
        without_redis("up", tmp_path),
        cwd=REPO_ROOT,
        env=profiled_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process, Output(process)
    finally:
        leftovers = _descendants(process.pid)
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        for child in leftovers:  # only after a failed test: the stack left behind
            child.kill()


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _flower_shows_the_sample_book(flower: str, auth: tuple[str, str]) -> dict[str, dict]:
    """Flower's tasks once every process_image task it has heard of succeeded."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tasks = httpx.get(f"{flower}api/tasks", auth=auth, timeout=10).json()
        images = {key: task for key, task in tasks.items() if task["name"].endswith("image")}
        if images and all(task["state"] == "SUCCESS" for task in images.values()):
            return images
        time.sleep(0.5)
    raise AssertionError(f"Flower did not show the sample book's tasks succeeded: {tasks}")


def test_make_up_without_redis_serves_flower_with_the_worker_and_its_tasks(
    make_up, tmp_path: Path
) -> None:
    process, output = make_up
    assert output.ready.wait(RUN_TIMEOUT_S), f"no ready line:\n{output.text()[-4000:]}"
    started = _descendants(process.pid)
    bus = output.value(r"Events bus: redis://127\.0\.0\.1:(\d+)/\d+\s+\(embedded valkey-server")
    found = output.value(r"Flower:\s+(\S+)\s+\(user (\S+), password (\S+)\)")
    flower, auth = found.group(1), (found.group(2), found.group(3))
    assert httpx.get(flower, timeout=10).status_code == 401

    tasks = _flower_shows_the_sample_book(flower, auth)
    (worker_name,) = {task["worker"] for task in tasks.values()}
    assert {task["name"] for task in tasks.values()} == {"worker.tasks.process_image"}
    # The worker alive by its own events, then its stats through remote control over the bus.
    online = httpx.get(f"{flower}api/workers?status=true", auth=auth, timeout=10).json()
    assert online == {worker_name: True}
    inspected = httpx.get(f"{flower}api/workers?refresh=true", auth=auth, timeout=30).json()
    assert "worker.tasks.process_image" in inspected[worker_name]["registered"]
    (server,) = [child for child in started if child.name() == "valkey-server"]
    listening = {c.laddr.port for c in server.net_connections() if c.status == psutil.CONN_LISTEN}
    assert listening == {int(bus.group(1))}

    process.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends it
    assert process.wait(timeout=STOP_TIMEOUT_S) == 0, output.text()[-4000:]
    gone, alive = psutil.wait_procs(started, timeout=10)
    assert alive == [], [" ".join(child.cmdline()) for child in alive]
    assert len(gone) == len(started)
    assert_no_process_imported_rembg(tmp_path / "up-stack" / "logs", output.text())
