"""terraform/, evaluated by terraform itself.

`terraform console` needs no provider and no init for a directory of variables and locals,
so the real expressions (variable validations, scaling steps, lifecycle rules) are evaluated
by terraform, never re-implemented here. Only locals that reference variables can be copied
out this way; ecr.tf and autoscaling.tf keep theirs so.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

TERRAFORM = shutil.which("terraform")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")

needs_terraform = pytest.mark.skipif(
    TERRAFORM is None,
    reason="no terraform binary on this machine; fmt -check runs where one exists",
)


class TerraformRefused(Exception):
    """terraform answered with errors (a variable validation that failed, say)."""


def locals_text(path: Path) -> str:
    """Every top-level `locals { ... }` block of a file, as written."""
    lines, found, depth = path.read_text().splitlines(), [], 0
    for line in lines:
        if depth == 0 and not re.match(r"locals\s*\{", line):
            continue
        found.append(line)
        depth += line.count("{") - line.count("}")
    return "\n".join(found) + "\n"


def terraform_console(
    directory: Path,
    expression: str,
    values: dict[str, Any] | None = None,
    locals_from: tuple[str, ...] = (),
    environment: str | None = None,
    extra_locals: dict[str, str] | None = None,
) -> Any:
    """`expression`'s value, by `terraform console` over a copy of `directory`'s variables.tf
    and the locals blocks of the files `locals_from`, with the variables of
    environments/<environment>.tfvars (if given), then `values`, set. `extra_locals` stands in
    for locals those files use but cannot be copied out (string values)."""
    assert TERRAFORM, "no terraform binary"
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        shutil.copy(directory / "variables.tf", root / "variables.tf")
        for name in locals_from:
            (root / f"locals_{name}").write_text(locals_text(directory / name))
        if extra_locals:
            assignments = "".join(f"  {k} = {json.dumps(v)}\n" for k, v in extra_locals.items())
            (root / "locals_extra.tf").write_text(f"locals {{\n{assignments}}}\n")
        arguments = []
        if environment:
            arguments.append(f"-var-file={directory / 'environments' / environment}.tfvars")
        else:
            values = {"environment": "staging", **(values or {})}
        (root / "values.tfvars.json").write_text(json.dumps(values or {}))
        result = subprocess.run(
            [TERRAFORM, "console", *arguments, "-var-file=values.tfvars.json"],
            cwd=root,
            input=f"jsonencode({expression})\n",
            env={**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null", "TF_INPUT": "0"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    errors = ANSI_ESCAPE.sub("", result.stderr)
    if "Error:" in errors or result.returncode != 0:
        raise TerraformRefused(re.sub(r"[│╷╵]\s?", "", errors))
    return json.loads(json.loads(result.stdout.strip()))


def variable_errors(directory: Path, values: dict[str, Any]) -> str:
    """terraform's verdict on variable values: the text of the validations they fail, or ""."""
    try:
        terraform_console(directory, "null", values)
    except TerraformRefused as refused:
        return " ".join(str(refused).split())
    return ""


def hcl_expression(value: Any) -> str:
    """A value as python-hcl2 parsed it, written back as an HCL expression."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str) and one_interpolation(value):
        return value[2:-1]
    return json.dumps(value)


def one_interpolation(text: str) -> bool:
    """`text` is a single "${...}" (whose value keeps its type), not a longer template."""
    if not text.startswith("${"):
        return False
    depth = 0
    for index, char in enumerate(text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0 and index > 1:
            return index == len(text) - 1
    return False
