"""bench-e2e's pool bookkeeping against real processes: the pool is read once it is whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from devtools.process_times import children, wait_for_children

# A parent that forks its two children a second apart, as a prefork worker's pool comes up
# after the worker has started answering.
PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    kids = []
    for _ in range(2):
        time.sleep(1.0)
        kids.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]))
    time.sleep(60)
    """
)


@pytest.fixture
def slow_parent():
    parent = subprocess.Popen([sys.executable, "-c", PARENT])
    try:
        yield parent.pid
    finally:
        for pid in children(parent.pid):
            os.kill(pid, signal.SIGKILL)
        parent.kill()
        parent.wait()


def test_the_pool_is_read_once_every_process_is_forked(slow_parent: int) -> None:
    assert len(children(slow_parent)) < 2  # what bench-e2e read before: a partial pool
    started = time.monotonic()
    pool = wait_for_children(slow_parent, 2, timeout_s=30)
    assert len(pool) == 2
    assert time.monotonic() - started >= 0.5
    assert sorted(pool) == sorted(children(slow_parent))


def test_a_pool_that_never_completes_times_out(slow_parent: int) -> None:
    with pytest.raises(TimeoutError, match="of 3 pool processes"):
        wait_for_children(slow_parent, 3, timeout_s=3)
