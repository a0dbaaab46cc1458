"""Start the stack's processes on loopback and stop every one of them, by PID, whatever happens."""

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


@dataclass
class Supervisor:
    """Owns the processes it started; `stop_all` ends them in reverse order."""

    log_dir: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, args: list[str]) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            args,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: children die with it
        )
        self.processes[name] = process
        return process

    def wait_for_port(self, name: str, port: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive(name)
            if port_open(port):
                return
            time.sleep(0.2)
        raise TimeoutError(f"{name} did not listen on port {port} within {timeout:.0f} s")

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
