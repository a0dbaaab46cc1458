"""S3 refused, reset, hung, failing with 5xx or slow, as a job reads its photo or writes its
result: the job retries with backoff and completes once S3 is back, with one result."""

from __future__ import annotations

import time

import pytest

from tests.faults.proxy import Fault, FaultKind
from tests.worker.integration.faults.stack import FaultStack, fault_kinds

pytestmark = [pytest.mark.model, pytest.mark.slow]

FAULTS = fault_kinds(
    http_error=Fault(FaultKind.http_error, status=503),
    slow=Fault(FaultKind.slow, delay_s=1.0, bytes_per_s=200_000),
)
MOMENTS = {"read": "GetObject", "write": "PutObject"}
HOLD_S = 8.0
# After S3 is back: the job's next retry (backoff of at most 4 s here, 120 s in production),
# a call left on a silent connection (the 3 s read timeout, twice), and the photo itself.
RECOVERY_BOUND_S = 40.0


@pytest.mark.parametrize("moment", list(MOMENTS))
@pytest.mark.parametrize("kind", list(FAULTS))
def test_an_s3_fault_costs_only_latency(stack: FaultStack, kind: str, moment: str) -> None:
    fault, s3 = FAULTS[kind], stack.proxies.s3
    retries = stack.worker_log_count("job will retry")
    began_at = stack.fault_at(MOMENTS[moment], s3, fault)
    job = stack.enqueue()
    began_at()
    time.sleep(HOLD_S)
    s3.heal()
    healed_at = time.time()

    rows = stack.completed_once([job], healed_at=healed_at, bound=RECOVERY_BOUND_S)
    row = rows[job]
    assert row.attempt_count == 1  # each retry handed the claim back first
    if kind != "slow":
        assert stack.worker_log_count("job will retry") > retries
    stack.record_figure(
        f"s3 {kind} at {moment}",
        fault=str(fault),
        recovered_s=stack.recovery_s(rows, healed_at),
        jobs=len(rows),
    )
