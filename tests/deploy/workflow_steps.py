"""Read GitHub workflows the way the runner does, and run one step's `run:` script for real.

A step runs under the runner's own shell line (`bash --noprofile --norc -eo pipefail`) with a
GITHUB_OUTPUT file, and with `aws`, `curl` and `docker` replaced by a fake that records each
call and answers from a list of rules, so a test can say "ECR holds this digest", "the waiter
times out", and read back what the script asked AWS to do. Everything else (bash, python, jq,
the repository's own scripts) is real. `step_env` wires one step's env to the outputs of the
steps run before it, as the runner does, so a test can run a job's steps in sequence.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

FAKE_COMMANDS = ("aws", "curl", "docker")
GITHUB_SHA = "4f2b9c0d8e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c"

# One program for every fake command: it logs its name and arguments, then answers with the
# first rule whose command matches and whose `args` appear in its own command line.
FAKE = f"""#!{sys.executable}
import json, os, shlex, sys
name, argv = os.path.basename(sys.argv[0]), sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps([name, argv]) + "\\n")
line = shlex.join(argv)
for rule in json.loads(open(os.environ["FAKE_RULES"]).read()):
    if rule["command"] == name and rule["args"] in line:
        sys.stdout.write(rule.get("stdout", ""))
        sys.exit(rule.get("exit", 0))
"""


def load(path: Path) -> dict[str, Any]:
    """A workflow as the runner reads it. YAML 1.1 reads the key `on` as True; put it back."""
    workflow: dict[Any, Any] = yaml.safe_load(path.read_text())
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    on = workflow.get("on", {})
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on)


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def step(workflow: dict[str, Any], step_id: str) -> dict[str, Any]:
    found = [s for s in steps(workflow) if s.get("id") == step_id]
    assert len(found) == 1, f"expected one step with id {step_id!r}, found {len(found)}"
    return found[0]


def step_named(workflow: dict[str, Any], words: str) -> dict[str, Any]:
    found = [s for s in steps(workflow) if words in s.get("name", "")]
    assert len(found) == 1, f"expected one step named with {words!r}, found {len(found)}"
    return found[0]


STEP_OUTPUT = re.compile(r"^\$\{\{ steps\.(\w+)\.outputs\.(\w+) \}\}$")


def step_env(
    script_step: dict[str, Any], outputs: dict[str, dict[str, str]], **given: str
) -> dict[str, str]:
    """The step's env as the runner fills it: `${{ steps.<id>.outputs.<name> }}` from the
    outputs of the steps run so far ("" when that step set none, as on the runner), literals as
    written, and any other expression from `given` (a missing one fails loudly)."""
    env = {}
    for name, value in script_step.get("env", {}).items():
        reference = STEP_OUTPUT.match(str(value))
        if reference:
            env[name] = outputs.get(reference.group(1), {}).get(reference.group(2), "")
        elif "${{" in str(value):
            assert name in given, f"the test gives no value for {name} ({value})"
            env[name] = given[name]
        else:
            env[name] = str(value)
    return env


@dataclass
class Rule:
    """Answer `command` (a fake) with `stdout` and `exit` when `args` is in its command line."""

    command: str
    args: str
    stdout: str = ""
    exit: int = 0


@dataclass
class StepRun:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    calls: list[tuple[str, list[str]]]

    def commands(self, command: str, *words: str) -> list[list[str]]:
        """The argument lists of the calls to `command` that contain every one of `words`."""
        return [
            argv for name, argv in self.calls if name == command and all(w in argv for w in words)
        ]

    def command_lines(self, command: str) -> list[str]:
        return [shlex.join(argv) for name, argv in self.calls if name == command]


def run_step(
    script_step: dict[str, Any],
    env: dict[str, str],
    rules: list[Rule],
    work: Path,
    cwd: Path | None = None,
) -> StepRun:
    """Run the step's `run:` script in `cwd` (default `work`) with the step's env filled from
    `env`: every variable the step declares must be given, so a renamed one fails loudly."""
    declared = set(script_step.get("env", {}))
    missing = declared - env.keys()
    assert not missing, f"the test gives no value for {sorted(missing)}"
    bin_dir, log, output = work / "fake-bin", work / "calls.jsonl", work / "github-output"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in FAKE_COMMANDS:
        fake = bin_dir / name
        fake.write_text(FAKE)
        fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    # `python` in a step is the runner's setup-python; here the test's own interpreter, called
    # by its own path (a symlink elsewhere would lose the venv and its packages).
    python = bin_dir / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    (work / "rules.json").write_text(json.dumps([rule.__dict__ for rule in rules]))
    log.write_text("")
    output.write_text("")
    script = work / "step.sh"
    script.write_text(script_step["run"])
    environment = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(work),
        "GITHUB_SHA": GITHUB_SHA,
        "GITHUB_OUTPUT": str(output),
        "FAKE_LOG": str(log),
        "FAKE_RULES": str(work / "rules.json"),
        **env,
    }
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=cwd or work,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    calls = [(name, argv) for name, argv in map(json.loads, log.read_text().splitlines())]
    return StepRun(result.returncode, result.stdout, result.stderr, outputs, calls)
