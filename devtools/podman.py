"""Run the project's images with podman, and remove what was started.

The defaults are how ECS runs them (deploy/ecs/*.json; devtools/ecs_local.py reads them
from there): user 10001, a read-only root filesystem with a writable /tmp, an init
process as PID 1, no added Linux capabilities. The network is the host's, so a container
reaches the caller's own moto_server, Postgres and Redis on loopback.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

RUNTIME_IMAGE = os.environ.get("IMAGE_PROCESSOR_IMAGE", "localhost/image-processor:ci")
API_IMAGE = os.environ.get("IMAGE_PROCESSOR_API_IMAGE", "localhost/image-processor-api:ci")
BASE_IMAGE = os.environ.get(
    "IMAGE_PROCESSOR_BASE_IMAGE", "localhost/image-processor-python-standin:3.11-bookworm"
)
ECS_USER = "10001:10001"


class ContainerError(RuntimeError):
    """podman refused, or a container did what it must not."""


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise ContainerError(f"podman {' '.join(args[:3])}: {result.stderr.strip()[-2000:]}")
    return result


def image_config(image: str) -> dict:
    """The image's Docker config (User, Env, Entrypoint, Cmd...) with its Healthcheck, which
    podman reports beside the config rather than inside it."""
    inspected = json.loads(podman("image", "inspect", image).stdout)[0]
    return {**inspected["Config"], "Healthcheck": inspected.get("Healthcheck")}


@dataclass
class ExecResult:
    returncode: int | None  # None: killed at the time-out, which orchestrators count as failed
    output: str

    @property
    def passed(self) -> bool:
        return self.returncode == 0


@dataclass
class Container:
    name: str

    def exec(self, args: Sequence[str], *, timeout: float = 30) -> ExecResult:
        """Run a command inside the running container, as its health checks run."""
        try:
            result = podman("exec", self.name, *args, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as expired:
            output = (expired.stdout or b"").decode() if isinstance(expired.stdout, bytes) else ""
            return ExecResult(None, output + f"\n(timed out after {timeout} s)")
        return ExecResult(result.returncode, result.stdout + result.stderr)

    def logs(self) -> str:
        result = podman("logs", self.name, check=False)
        return result.stdout + result.stderr

    def state(self) -> dict:
        return json.loads(podman("inspect", self.name).stdout)[0]["State"]

    def running(self) -> bool:
        return bool(self.state().get("Running"))

    def wait_for_log(self, text: str, *, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.logs():
                return
            if not self.running():
                raise ContainerError(f"{self.name} exited; its log ends:\n{self.logs()[-3000:]}")
            time.sleep(0.5)
        tail = self.logs()[-3000:]
        raise TimeoutError(f"{self.name} did not log {text!r} in {timeout} s:\n{tail}")

    def wait_for_exit(self, *, timeout: float = 180) -> int:
        result = podman("wait", self.name, timeout=timeout)
        return int(result.stdout.strip().splitlines()[-1])

    def host_pids(self) -> list[int]:
        """The container's processes as the host sees them (for SIGSTOP and the like)."""
        top = podman("top", self.name, "hpid", "args", check=True).stdout.splitlines()[1:]
        return [int(line.split(None, 1)[0]) for line in top if line.strip()]

    def remove(self) -> None:
        podman("rm", "--force", "--time", "10", self.name, check=False)


def ecs_flags(
    *,
    user: str = ECS_USER,
    read_only: bool = True,
    scratch_paths: Sequence[str] = ("/tmp",),  # noqa: S108 - the container's own /tmp
    init: bool = True,
) -> list[str]:
    """How ECS runs a task's container; no capability is added. A scratch path is an empty
    writable tmpfs (ECS: a task volume)."""
    flags = ["--user", user]
    if read_only:
        flags.append("--read-only")
    if init:
        flags.append("--init")
    for path in scratch_paths:
        flags += ["--tmpfs", f"{path}:rw,mode=1777"]
    return flags


def run(
    image: str,
    command: Sequence[str],
    *,
    name: str,
    env: Mapping[str, str],
    flags: Sequence[str] | None = None,
    volumes: Sequence[str] = (),
) -> Container:
    """`podman run --detach` on the host's network with `flags` (ECS's by default). The
    environment goes in by file, so no value (the dummy secrets included) appears on a
    command line."""
    podman("rm", "--force", name, check=False)
    with tempfile.NamedTemporaryFile("w", suffix=".env", delete=False) as env_file:
        env_file.write("".join(f"{key}={value}\n" for key, value in env.items()))
    args = ["run", "--detach", "--name", name, "--network", "host", "--env-file", env_file.name]
    # Health checks are run by the caller, as the orchestrator would; podman's own schedule
    # needs systemd timers, which this machine does not have.
    args += ["--health-interval", "disable"]
    args += ecs_flags() if flags is None else flags
    for volume in volumes:
        args += ["--volume", volume]
    try:
        podman(*args, image, *command, timeout=600)
    finally:
        Path(env_file.name).unlink()
    return Container(name)


def run_once(image: str, command: Sequence[str]) -> ExecResult:
    """One command in a throwaway container with ECS's flags and no network."""
    args = ["run", "--rm", "--network", "none", "--no-healthcheck", *ecs_flags(), image, *command]
    result = podman(*args, timeout=600, check=False)
    return ExecResult(result.returncode, result.stdout + result.stderr)


def remove_all(containers: Sequence[Container]) -> None:
    for container in containers:
        with suppress(Exception):
            container.remove()
