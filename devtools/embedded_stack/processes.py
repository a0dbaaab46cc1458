"""Start the stack's processes on loopback and stop every one of them, by PID, whatever happens.

Each process starts in a session (and process group) of its own, so a Ctrl-C in the terminal
reaches only the supervising process, which then stops the groups in reverse order: a Celery
worker's pool processes and uvicorn's children go with their group.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def wait_for_port(
    port: int, *, process: subprocess.Popen | None = None, timeout: float = 60.0
) -> None:
    """Until something listens on 127.0.0.1:`port`; fails early if `process` (what should
    listen) has exited. The one port wait of the stacks and the tests."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process {process.pid} exited with {process.returncode}")
        if port_open(port):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout:.0f} s")


@dataclass
class Supervisor:
    """Owns the processes it started; `stop_all` ends them in reverse order."""

    log_dir: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, args: list[str]) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{name}.log").open("ab") as log:  # the child keeps its own copy
            process = subprocess.Popen(
                args,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: children die with it
            )
        self.processes[name] = process
        return process

    def run_once(self, name: str, args: list[str], timeout: float = 120.0) -> None:
        """A one-shot step (the migration): run to the end; a failure raises with its log."""
        process = self.start(name, args)
        if process.wait(timeout=timeout) != 0:
            self.check_alive(name)
        del self.processes[name]  # done: nothing left to stop, and no longer expected alive

    def wait_for_port(self, name: str, port: int, timeout: float = 60.0) -> None:
        try:
            wait_for_port(port, process=self.processes[name], timeout=timeout)
        except RuntimeError:
            self.check_alive(name)  # raises with the process's log
            raise

    def wait_for_log(self, name: str, text: str, timeout: float = 120.0) -> None:
        path = self.log_dir / f"{name}.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive(name)
            if path.exists() and text in path.read_text(errors="replace"):
                return
            time.sleep(0.3)
        raise TimeoutError(f"{name} did not log {text!r} within {timeout:.0f} s ({path})")

    def check_alive(self, name: str) -> None:
        code = self.processes[name].poll()
        if code is not None:
            tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{name} exited with {code}; the end of its log:\n{tail}")

    def check_all_alive(self) -> None:
        """RuntimeError with the end of its log if any process of the stack has exited."""
        for name in list(self.processes):
            self.check_alive(name)

    def stop_all(self, timeout: float = 20.0) -> None:
        for name, process in reversed(list(self.processes.items())):
            stop_process_group(process, timeout=timeout)
            del self.processes[name]


def stop_process_group(process: subprocess.Popen, *, timeout: float = 15.0) -> None:
    """SIGTERM to the process's group (it was started in a session of its own), then SIGKILL."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
