"""SQS refused, reset, hung, failing with 5xx or slow, while the fleet works: nothing stops.

One fault window per kind covers every moment SQS is called: it begins when a job reads its
photo (so that job's acknowledgement meets it), a message waits in the queue meanwhile (the
worker's receives meet it), the API enqueues an upload (its publish meets it), and beat sweeps
every 2 s (its republishing meets it). Once SQS is back, every job completes, once.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from sqlalchemy import create_engine, text

from tests import servers
from tests.faults.proxy import Fault, FaultKind
from tests.worker.integration.faults.stack import FaultStack, fault_kinds

pytestmark = [pytest.mark.model, pytest.mark.slow]

FAULTS = fault_kinds(
    http_error=Fault(FaultKind.http_error, status=500),
    slow=Fault(FaultKind.slow, delay_s=1.0, bytes_per_s=50_000),
)
# Held for more than five sweeps (the old count of republishing attempts); a hung receive is
# only given up after kombu's own 20 s, so that fault is held longer for the worker to meet it.
HOLD_S = {"hung": 26.0}
DEFAULT_HOLD_S = 12.0
# After SQS is back: a receive backing off (at most 20 s), one left hanging on a silent
# connection (20 s), a sweep (2 s) and the photo itself.
RECOVERY_BOUND_S = 60.0


def _health(stack: FaultStack) -> tuple[int, str]:
    check = subprocess.run(
        [str(servers.VENV_BIN / "python"), "-m", "worker.healthcheck"],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return check.returncode, check.stdout.strip()


def _transactions_held_open(database_url: str, seconds: float) -> list[str]:
    """Sessions of the stack's database idle inside a transaction for `seconds` or more."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT application_name, query FROM pg_stat_activity "
                    "WHERE datname = current_database() AND state = 'idle in transaction' "
                    "AND state_change < now() - make_interval(secs => :seconds)"
                ),
                {"seconds": seconds},
            ).all()
    finally:
        engine.dispose()
    return [f"{name}: {query}" for name, query in rows]


@pytest.mark.parametrize("kind", list(FAULTS))
def test_an_sqs_fault_costs_only_latency(stack: FaultStack, kind: str) -> None:
    fault, sqs = FAULTS[kind], stack.proxies.sqs
    receive_errors = stack.worker_log_count("SQS receive from")
    began_at = stack.fault_at("GetObject", sqs, fault)
    mid_job = stack.enqueue()
    began = began_at()

    waiting = stack.enqueue()  # straight onto the queue: the worker's receives must get it
    uploaded = stack.upload()  # the API's publish meets the fault
    held_open: list[str] = []
    while time.monotonic() - began < HOLD_S.get(kind, DEFAULT_HOLD_S):
        held_open += _transactions_held_open(stack.settings.database_url.get_secret_value(), 1.5)
        time.sleep(0.5)
    if kind != "slow":
        healthy, report = _health(stack)
        assert healthy == 0, report  # polling through an outage is not the worker's fault
        assert "failed SQS receive(s)" in report
    sqs.heal()
    healed_at = time.time()

    rows = stack.completed_once(
        [mid_job, waiting, uploaded["id"]], healed_at=healed_at, bound=RECOVERY_BOUND_S
    )
    assert not held_open, "a transaction was held open across an SQS call"
    if kind == "slow":
        assert uploaded["status"] == "pending"
    else:
        assert uploaded["status"] == "queue_failed"  # then republished by a sweep
        assert stack.worker_log_count("SQS receive from") > receive_errors
        assert rows[uploaded["id"]].enqueue_attempts >= 2
    # The mid-job acknowledgement may have failed: the message came back, found the job
    # finished, and was acknowledged then. Nothing is left on the queue.
    stack.queue_drained(timeout=2 * float(stack.env["SQS_VISIBILITY_TIMEOUT"]))
    stack.record_figure(
        f"sqs {kind}",
        fault=str(fault),
        recovered_s=stack.recovery_s(rows, healed_at),
        jobs=len(rows),
    )
