"""A pytest plugin: on CI (CI=true) a skipped test is a failed one.

A check that did not run proves nothing, and a skip there would hide a regression (a server
that was down, a tool that was not installed). Locally a skip stays a skip, with its reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On CI (CI=true) a skipped test is a failed one: a check that did not run proves nothing,
    and a skip there would hide a regression. Locally a skip stays a skip, with its reason."""
    report = yield
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped on CI, which counts as a failure: {reason}"
    return report
