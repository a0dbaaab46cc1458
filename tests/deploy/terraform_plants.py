"""One planted mistake in a copy of terraform/, and what the invariants then report.

Each terraform test module lists its planted mistakes as (file, text to replace, replacement,
a problem that must then be reported) and expects the problem among every invariant's
findings (terraform_checks_stack.all_terraform_problems), not only its own subject's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.deploy.checks import load_terraform
from tests.deploy.conftest import replace_in
from tests.deploy.terraform_checks_stack import all_terraform_problems

Plant = tuple[str, str, str, str]


def plant_ids(plants: list[Plant]) -> list[str]:
    """A test id per plant: the start of the problem it must raise."""
    return [plant[3][:40] for plant in plants]


def problems_with_plant(planted: Callable[..., Path], file: str, old: str, new: str) -> list[str]:
    """Every invariant's problems on a copy of terraform/ with `old` replaced in `file`."""
    root = planted("terraform")
    replace_in(root / "terraform" / file, old, new)
    return all_terraform_problems(load_terraform(root / "terraform"))
